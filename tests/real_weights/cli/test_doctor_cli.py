"""``glmtts doctor``."""

from __future__ import annotations

from pathlib import Path

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


@pytest.mark.slow
def test_doctor_prepare_does_the_first_start_work_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    assert main(["doctor", "--prepare", "--no-synth", "--cache-dir", str(cache)]) == 0
    out = capsys.readouterr().out
    assert "ok   prepare kokoro model" in out and "joined and verified" in out
    assert "durations exposed and checked" in out
    assert "ok   prepare kokoro caches" in out and "style-pack profiles measured" in out
    files = {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}
    assert any(p.name.startswith("pack-profiles") for p in files) and any(p.suffix == ".onnx" for p in files)

    assert main(["doctor", "--prepare", "--no-synth", "--cache-dir", str(cache)]) == 0
    again = capsys.readouterr().out
    assert "already prepared (sha256 re-checked)" in again and "caches" in again
    assert "durations model already prepared" in again
    assert "ok   prepare kokoro caches: " in again and "already prepared" in again.split("caches: ")[1]
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()} == files  # nothing rewritten
