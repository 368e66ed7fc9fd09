"""The HTTP API in-process (FastAPI TestClient) on the fake engine: formats, voices, streaming, admin."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from glmtts.serving.api.app import create_app
from tests.support.harness import fake_settings, tone
from tests.support.serving.audio_checks import decode, decode_streamed_wav, dominant_hz, level_dbfs

TEXT = "Hello world. This is a test."


def _wait_ready(client: TestClient, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, client.get("/v1/status").json()
        time.sleep(0.02)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(fake_settings(tmp_path_factory.mktemp("app")))
    with TestClient(app) as test_client:
        _wait_ready(test_client)
        yield test_client


def _wav_bytes(samples: np.ndarray, sample_rate: int = 24000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="WAV")
    return buffer.getvalue()


def test_status_reports_finished_load_and_warmup(client: TestClient) -> None:
    status = client.get("/v1/status").json()
    assert status["phase"] == "ready" and status["engine"] == "fake" and status["sample_rate"] == 24000
    assert status["warmup"]["done"] == status["warmup"]["total"] == 3  # engine, encoders, http
    names = [step["name"] for step in status["startup"]["steps"]]
    assert {"engine load", "warm-up", "engine.warmup", "encoders", "http", "gc: collect + freeze"} <= set(
        names
    )
    assert status["load"]["loaded_bytes"] == status["load"]["total_bytes"] == 1000
    assert {"loading", "warming"} <= set(status["phase_seconds"])
    assert status["queue"]["interactive"] == 0 and status["memory"]["process_rss_bytes"] > 0


@pytest.mark.parametrize("fmt", ["wav", "flac", "opus", "mp3", "aac"])
def test_openai_speech_formats_decode_as_the_expected_tone(client: TestClient, fmt: str) -> None:
    response = client.post("/v1/audio/speech", json={"input": TEXT, "voice": "alloy", "response_format": fmt})
    assert response.status_code == 200, response.text
    samples, sample_rate = decode(response.content)
    expected_s = 0.04 * len("Hello world.") + 0.04 * len("This is a test.")
    assert abs(len(samples) / sample_rate - expected_s) < 0.15
    assert level_dbfs(samples) > -25
    assert abs(dominant_hz(samples, sample_rate) - 220.0) < 5.0


def test_pcm_openai_voice_mapping_and_determinism(client: TestClient) -> None:
    body = {"input": TEXT, "voice": "ash", "response_format": "pcm", "seed": 7}
    first = client.post("/v1/audio/speech", json=body)
    second = client.post("/v1/audio/speech", json=body)
    assert first.headers["content-type"] == "audio/pcm" and first.content == second.content
    samples = np.frombuffer(first.content, dtype="<i2").astype(np.float32) / 32767
    assert abs(dominant_hz(samples, 24000) - 120.0) < 5.0  # "ash" -> second built-in voice
    other_seed = client.post("/v1/audio/speech", json={**body, "seed": 8}).content
    assert other_seed != first.content


def test_streaming_wav_and_sse(client: TestClient) -> None:
    whole = client.post("/v1/audio/speech", json={"input": TEXT, "response_format": "pcm"}).content
    with client.stream(
        "POST", "/v1/audio/speech", json={"input": TEXT, "response_format": "wav", "stream": True}
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        streamed = b"".join(r.iter_bytes())
    np.testing.assert_allclose(
        decode_streamed_wav(streamed), np.frombuffer(whole, "<i2") / 32767.0, atol=1e-6
    )
    sse = client.post(
        "/v1/audio/speech", json={"input": TEXT, "response_format": "pcm", "stream_format": "sse"}
    )
    assert sse.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in sse.text.splitlines() if line.startswith("data: ")]
    assert events[-1]["type"] == "speech.audio.done" and len(events) == 3
    assert b"".join(base64.b64decode(e["audio"]) for e in events[:-1]) == whole


def test_native_tts_with_uploaded_prompt_uses_its_voice_and_caches_it(client: TestClient) -> None:
    clip = _wav_bytes(tone(2.0, f0_hz=150.0, seed=3))
    fields = {"text": TEXT, "prompt_text": "a prompt", "format": "wav", "seed": "3"}
    first = client.post("/v1/tts", data=fields, files={"prompt_audio": ("p.wav", clip, "audio/wav")})
    assert first.status_code == 200, first.text
    samples, sample_rate = decode(first.content)
    assert abs(dominant_hz(samples, sample_rate) - 150.0) < 5.0
    before = client.get("/v1/status").json()["memory"]["voice_cache"]["hits"]
    again = client.post("/v1/tts", data=fields, files={"prompt_audio": ("p.wav", clip, "audio/wav")})
    assert again.content == first.content
    assert client.get("/v1/status").json()["memory"]["voice_cache"]["hits"] == before + 1


def test_voices_library_roundtrip(client: TestClient) -> None:
    clip = _wav_bytes(tone(2.5, f0_hz=180.0, seed=5))
    added = client.post(
        "/v1/voices", data={"name": "narrator", "text": "hi"}, files={"audio": ("v.wav", clip)}
    )
    assert added.status_code == 201, added.text
    voice_id = added.json()["voice_id"]
    listing = client.get("/v1/voices").json()
    assert [v["name"] for v in listing["stored"]] == ["narrator"] and listing["openai_aliases"][
        "alloy"
    ] == "fake_f"
    for ref in ("narrator", voice_id):
        speech = client.post("/v1/audio/speech", json={"input": TEXT, "voice": ref, "response_format": "wav"})
        samples, sample_rate = decode(speech.content)
        assert abs(dominant_hz(samples, sample_rate) - 180.0) < 5.0
    assert client.get(f"/v1/voices/{voice_id}").json()["name"] == "narrator"
    assert client.delete("/v1/voices/narrator").status_code == 200
    assert client.get("/v1/voices/narrator").status_code == 404
    gone = client.post("/v1/audio/speech", json={"input": TEXT, "voice": "narrator"})
    assert gone.status_code == 400 and gone.json()["error"]["type"] == "unknown_voice"


def test_pronunciations_get_put(client: TestClient) -> None:
    lines = '{"弈": "<|I4|>"}\n{"GLM": "G L M"}\n'
    put = client.put(
        "/v1/pronunciations", content=lines.encode(), headers={"content-type": "application/x-ndjson"}
    )
    assert put.json() == {"n_entries": 2}
    got = client.get("/v1/pronunciations").text.splitlines()
    assert [json.loads(line) for line in got] == [{"弈": "<|I4|>"}, {"GLM": "G L M"}]
    as_json = client.put("/v1/pronunciations", json=[{"a": "b"}])
    assert as_json.json() == {"n_entries": 1}
    bad = client.put(
        "/v1/pronunciations", content=b'["not an object"]\n', headers={"content-type": "text/plain"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "invalid_dictionary"
    assert client.get("/v1/pronunciations").text.strip() == '{"a": "b"}'


def test_release_sleep_wake(client: TestClient) -> None:
    released = client.post("/v1/admin/release-memory").json()
    assert released["freed_bytes"] == 4096 and released["bytes_before"] == 1_000_000
    slept = client.post("/v1/admin/sleep").json()
    assert slept["bytes_after"] == 0
    assert client.get("/ready").json() == {"ready": False, "phase": "sleeping"}
    refused = client.post("/v1/audio/speech", json={"input": TEXT})
    assert refused.status_code == 503 and refused.json()["phase"] == "sleeping"
    assert client.post("/v1/admin/sleep").status_code == 409
    woke = client.post("/v1/admin/wake").json()
    assert woke["phase"] == "ready" and client.get("/ready").status_code == 200
    assert client.post("/v1/audio/speech", json={"input": TEXT}).status_code == 200


def test_metrics_parse_and_count(client: TestClient) -> None:
    client.post("/v1/audio/speech", json={"input": TEXT, "response_format": "wav"})
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    for name in (
        "glmtts_requests",
        "glmtts_request_latency_seconds",
        "glmtts_time_to_first_audio_seconds",
        "glmtts_real_time_factor",
        "glmtts_queue_wait_seconds",
        "glmtts_phase",
        "glmtts_queue_depth",
        "glmtts_memory_bytes",
    ):
        assert name in families, name
    ok = [s for s in families["glmtts_requests"].samples if s.labels.get("route") == "/v1/audio/speech"]
    assert any(s.labels["status"] == "200" and s.value >= 1 for s in ok)
    ready = [s for s in families["glmtts_phase"].samples if s.labels["phase"] == "ready"]
    assert ready[0].value == 1.0


def test_api_key_guards_v1_only(tmp_path: Path) -> None:
    app = create_app(fake_settings(tmp_path, api_key="s3cret", warmup_rounds=0))
    with TestClient(app) as keyed:
        _wait_ready(keyed)
        assert keyed.get("/health").status_code == 200
        denied = keyed.get("/v1/status")
        assert denied.status_code == 401 and denied.json()["error"]["type"] == "unauthorized"
        assert keyed.get("/v1/status", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert keyed.get("/v1/status", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_lazy_mode_is_ready_at_once_and_loads_on_first_request(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path, lazy=True, engine_options={"load_delay_s": 0.5})
    with TestClient(create_app(settings)) as lazy:
        assert lazy.get("/ready").json() == {"ready": True, "phase": "init"}
        started = time.monotonic()
        response = lazy.post("/v1/audio/speech", json={"input": TEXT, "response_format": "wav"})
        assert response.status_code == 200 and time.monotonic() - started >= 0.5
        assert lazy.get("/v1/status").json()["phase"] == "ready"


def test_web_ui_builds_for_an_engine_with_one_speed(tmp_path: Path) -> None:
    """glm has one speed (1.0): the UI hides the control instead of failing to build a min == max slider."""
    from glmtts.ui.app import build_ui

    settings = fake_settings(tmp_path, warmup_rounds=0, ui=True, engine_options={"fixed_speed": True})
    with TestClient(create_app(settings, ui_factory=build_ui)) as client:
        _wait_ready(client)
        config = client.get("/ui/config").json()
        speed = [c for c in config["components"] if c.get("props", {}).get("label") == "Speed"]
        assert len(speed) == 1 and speed[0]["type"] == "number" and speed[0]["props"]["visible"] is False
        assert speed[0]["props"]["value"] == 1.0
        faster = client.post("/v1/audio/speech", json={"input": TEXT, "response_format": "wav", "speed": 1.5})
        assert faster.status_code == 422


def test_api_key_also_guards_the_web_ui(tmp_path: Path) -> None:
    from glmtts.ui.app import build_ui

    app = create_app(fake_settings(tmp_path, api_key="s3cret", warmup_rounds=0, ui=True), ui_factory=build_ui)
    with TestClient(app) as keyed:
        _wait_ready(keyed)
        assert keyed.get("/ui/config").status_code == 401
        wrong = keyed.post("/ui/login", data={"username": "me", "password": "wrong"})
        assert wrong.status_code == 400
        right = keyed.post("/ui/login", data={"username": "me", "password": "s3cret"})
        assert right.status_code == 200
        assert keyed.get("/ui/config").status_code == 200
