"""``glmtts voices add|list|rm`` manage the same store the server loads before ready."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from glmtts.cli.main import main
from glmtts.serving.api.app import create_app
from tests.support.harness import FAKE_ENGINE_CLASS, fake_settings, tone


def test_voices_cli_roundtrip_and_server_uses_the_voice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GLMTTS_ENGINE_CLASS", FAKE_ENGINE_CLASS)
    workdir = tmp_path / "work"
    clip = tmp_path / "clip.wav"
    sf.write(clip, tone(2.0, f0_hz=170.0), 24000)
    common = ["voices", "--workdir", str(workdir), "--engine", "fake"]
    assert main([*common, "add", "reader", str(clip), "--text", "hello"]) == 0
    assert main([*common, "add", "../bad", str(clip)]) == 2
    capsys.readouterr()
    assert main([*common, "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(v["name"], v["engines"]) for v in listed] == [("reader", ["fake"])]
    with TestClient(create_app(fake_settings(workdir, warmup_rounds=1))) as client:
        while client.get("/ready").status_code != 200:
            pass
        status = client.get("/v1/status").json()
        assert status["n_stored_voices"] == 1
        assert status["warmup"]["done"] == status["warmup"]["total"]
        assert {"voices read from disk", "stored voices ready", "http"} <= {
            s["name"] for s in status["startup"]["steps"]
        }
        response = client.post(
            "/v1/audio/speech", json={"input": "Hi.", "voice": "reader", "response_format": "pcm"}
        )
        assert response.status_code == 200
    assert main([*common, "rm", "reader"]) == 0
    assert main([*common, "rm", "reader"]) == 2
    assert main([*common, "list"]) == 0
