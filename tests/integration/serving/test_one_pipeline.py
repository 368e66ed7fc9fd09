"""One request pipeline: every front end decodes into the same request and runs it through one service.

Each test here was a user-visible bug while jobs, the UI and the CLI built requests their own way.
The app runs in process on the fake engine reading text through the real text frontend, so the live
pronunciation dictionary changes the audio.
"""

from __future__ import annotations

import io
import logging
import time
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from openai import OpenAI

from glmtts.serving.api.app import create_app
from tests.support.harness import fake_settings
from tests.support.serving.audio_checks import decode

TEXT = "重要的事情说三遍。"
SEED = 1234
BODY = {"input": TEXT, "voice": "alloy", "response_format": "wav", "seed": SEED}


def _wait_ready(client: TestClient) -> None:
    deadline = time.monotonic() + 60
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, client.get("/v1/status").json()
        time.sleep(0.02)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    workdir = tmp_path_factory.mktemp("pipeline")
    settings = fake_settings(
        workdir, seed=77, max_text_chars=200, engine_options={"text_frontend": True}, log_requests=True
    )
    with TestClient(create_app(settings)) as test_client:
        _wait_ready(test_client)
        while test_client.app.state.services.jobs._thread is None:  # type: ignore[attr-defined]
            time.sleep(0.01)
        yield test_client


def _job_bytes(
    client: TestClient, line: dict[str, object], **options: object
) -> tuple[dict, dict[str, bytes]]:
    """Run a one-line job; return its document and the archive's files."""
    answer = client.post("/v1/jobs", json={"items": [line], **options})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    deadline = time.monotonic() + 30
    while (document := client.get(f"/v1/jobs/{job_id}").json())["state"] not in (
        "done",
        "failed",
        "cancelled",
    ):
        assert time.monotonic() < deadline, document
        time.sleep(0.05)
    with zipfile.ZipFile(io.BytesIO(client.get(f"/v1/jobs/{job_id}/archive").content)) as bundle:
        return document, {name: bundle.read(name) for name in bundle.namelist()}


def test_job_line_and_http_request_give_identical_bytes_before_and_after_a_dictionary_edit(
    client: TestClient,
) -> None:
    line = {"uttid": "u1", "voice": "alloy", "syn_text": TEXT}
    client.put("/v1/pronunciations", content=b"", headers={"content-type": "application/x-ndjson"})
    before_http = client.post("/v1/audio/speech", json=BODY).content
    _, before_job = _job_bytes(client, line, seed=SEED)
    assert before_job["u1.wav"] == before_http
    edit = client.put("/v1/pronunciations", json={"重": "<|CH|><|ONG2|>"})
    assert edit.json() == {"n_entries": 1}
    after_http = client.post("/v1/audio/speech", json=BODY).content
    _, after_job = _job_bytes(client, line, seed=SEED)
    assert after_http != before_http  # the edit changed how 重 is read...
    assert after_job["u1.wav"] == after_http  # ...for jobs exactly as for HTTP
    removed = client.put("/v1/pronunciations", content=b"", headers={"content-type": "application/x-ndjson"})
    assert removed.json() == {"n_entries": 0}
    assert client.post("/v1/audio/speech", json=BODY).content == before_http  # removal applies at once too


def test_job_lines_accept_openai_and_default_voice_names(client: TestClient) -> None:
    lines = [
        {"uttid": "a", "voice": "alloy", "syn_text": "Alloy speaks."},
        {"uttid": "d", "voice": "default", "syn_text": "Default speaks."},
        {"uttid": "g", "voice": "ghost", "syn_text": "Nobody speaks."},
    ]
    answer = client.post("/v1/jobs", json={"items": lines})
    assert [(f["line"], f["error"]["type"]) for f in answer.json()["failures"]] == [(3, "unknown_voice")]
    bad = client.post("/v1/audio/speech", json={"input": "x.", "voice": "ghost"})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "unknown_voice"


def test_jobs_use_the_server_seed_and_the_server_text_limit(client: TestClient) -> None:
    document, files = _job_bytes(
        client, {"uttid": "s", "voice": "fake_m", "syn_text": "Seeded by the server."}
    )
    assert document["options"]["seed"] == 77  # serve --seed, not a literal 42
    http = client.post(
        "/v1/audio/speech",
        json={"input": "Seeded by the server.", "voice": "fake_m", "response_format": "wav"},
    )
    assert files["s.wav"] == http.content
    long_text = "x" * 201
    answer = client.post(
        "/v1/jobs", json={"items": [{"uttid": "l", "voice": "fake_f", "syn_text": long_text}]}
    )
    assert answer.status_code == 400 and "at most 200" in answer.json()["error"]["message"]
    too_long = client.post("/v1/audio/speech", json={"input": long_text})
    assert too_long.status_code == 413 and "at most 200" in too_long.json()["error"]["message"]


def test_jobs_write_the_per_request_log_line_and_metrics(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="glmtts.synthesis.service"):
        _job_bytes(client, {"uttid": "m", "voice": "fake_f", "syn_text": "Counted."})
    assert any("route=job" in record.getMessage() for record in caplog.records)
    metrics = client.get("/metrics").text
    assert 'glmtts_time_to_first_audio_seconds_count{route="job"}' in metrics


def test_openai_sdk_aac_models_and_instructions(client: TestClient) -> None:
    sdk = OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=client)
    models = [model.id for model in sdk.models.list()]
    assert models[0] == "glmtts" and {"fake", "tts-1", "gpt-4o-mini-tts"} <= set(models)
    assert sdk.models.retrieve("tts-1").owned_by == "glmtts"
    speech = sdk.audio.speech.create(
        model="gpt-4o-mini-tts", voice="alloy", input="Hello there.", response_format="aac",
        instructions="Speak cheerfully.",
    )  # fmt: skip
    data = speech.read()
    assert data[:2] in (b"\xff\xf1", b"\xff\xf9")  # ADTS sync word
    samples, rate = decode(data)
    assert 0.3 < samples.size / rate < 0.8 and rate == 24000
    plain = sdk.audio.speech.create(model="tts-1", voice="alloy", input="Hello there.", response_format="aac")
    assert plain.read() == data  # the engine does not follow instructions (capabilities say so)
    with pytest.raises(Exception, match="404"):
        sdk.models.retrieve("nope")


def test_status_reports_capabilities(client: TestClient) -> None:
    capabilities = client.get("/v1/status").json()["capabilities"]
    assert (
        capabilities["seed"] is True
        and capabilities["sampling"] is False
        and capabilities["instructions"] is False
    )
