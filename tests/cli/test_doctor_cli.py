"""``glmtts doctor``."""

from __future__ import annotations

import pytest

from glmtts.cli import doctor
from glmtts.cli.main import main


def test_doctor_reports_a_ready_engine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--no-synth"]) == 0
    out = capsys.readouterr().out
    assert "ok   python" in out and "ok   kokoro model" in out and "verified" in out
    assert "ok   espeak-ng" in out
    assert out.strip().endswith("default engine (kokoro): ready")


def test_doctor_fails_when_the_model_is_broken(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(cache_dir: object) -> str:
        raise RuntimeError("sha256 mismatch")

    monkeypatch.setattr(doctor, "_kokoro_model", broken)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL kokoro model: RuntimeError: sha256 mismatch" in out
    assert "CANNOT RUN" in out
