"""Continuous batching through HTTP on the fake engine's batching mode: backpressure, status, metrics,
and 8 concurrent requests to a real ``glmtts serve`` process, each identical to the same request alone."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from glmtts.serving.api.app import create_app
from tests.support.fake_engine import FakeEngine
from tests.support.harness import FAKE_ENGINE_CLASS, ServerProcess, fake_settings

LONG = " ".join(f"Sentence number {index} is here." for index in range(8))


def _wait_ready(client: TestClient) -> None:
    deadline = time.monotonic() + 30
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, client.get("/v1/status").json()
        time.sleep(0.02)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = fake_settings(
        tmp_path_factory.mktemp("batching"),
        engine_options={"batching": True},
        max_batch=2,
        max_queue=2,
        kv_capacity_tokens=4096,
        warmup_rounds=0,
    )
    with TestClient(create_app(settings)) as test_client:
        _wait_ready(test_client)
        yield test_client


def _engine(client: TestClient) -> FakeEngine:
    engine = client.app.state.services.runtime.engine  # type: ignore[attr-defined]
    assert isinstance(engine, FakeEngine)
    return engine


def _speech(client: TestClient, text: str = LONG, **body: Any) -> httpx.Response:
    return client.post("/v1/audio/speech", json={"input": text, "response_format": "pcm", "seed": 3, **body})


def _metrics(client: TestClient) -> dict[str, float]:
    samples = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_status_reports_the_batch_limits_and_kv_cache(client: TestClient) -> None:
    batch = client.get("/v1/status").json()["batch"]
    assert batch["enabled"] is True and batch["limits"]["max_sequences"] == 2
    assert batch["limits"]["kv_capacity_tokens"] == 4096 and batch["kv_cache_bytes"] == 4096 * 1024
    assert client.get("/v1/status").json()["capabilities"]["batching"] is True


def test_full_batch_gives_429_with_retry_after_and_json_then_serves_identical_audio(
    client: TestClient,
) -> None:
    engine = _engine(client)
    gate = threading.Event()
    engine.step_hook = lambda _n: gate.wait(10)
    try:
        with ThreadPoolExecutor(2) as pool:
            held = [pool.submit(_speech, client, LONG, seed=seed) for seed in (1, 2)]
            deadline = time.monotonic() + 10
            while True:
                status = client.get("/v1/status").json()
                if status["batch"]["in_flight"]["interactive"] + status["queue"]["interactive"] == 2:
                    break
                assert time.monotonic() < deadline, status
                time.sleep(0.01)
            refused = _speech(client, "Refused.")
            gate.set()
            answers = [future.result(30) for future in held]
    finally:
        engine.step_hook = None
        gate.set()
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["type"] == "overloaded"
    assert [answer.status_code for answer in answers] == [200, 200]
    for seed, answer in zip((1, 2), answers, strict=True):
        assert answer.content == _speech(client, LONG, seed=seed).content  # the same request alone


def test_metrics_show_batch_sizes_in_flight_kv_cache_and_stream_continuity(client: TestClient) -> None:
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda seed: _speech(client, LONG, seed=seed, stream=True), (4, 5)))
    assert all(answer.status_code == 200 for answer in answers)
    metrics = _metrics(client)
    assert metrics["glmtts_batch_size_count"] > 0 and metrics["glmtts_batch_sequence_steps_total"] > 0
    assert metrics["glmtts_batch_size_sum"] == metrics["glmtts_batch_sequence_steps_total"]
    assert metrics["glmtts_batch_step_seconds_count"] == metrics["glmtts_batch_size_count"]
    assert metrics["glmtts_batch_in_flight{priority=interactive}"] == 0
    assert metrics["glmtts_memory_bytes{component=engine_kv_cache}"] == 4096 * 1024
    assert metrics["glmtts_stream_continuity_count{route=/v1/audio/speech}"] >= 2
    assert metrics["glmtts_request_queue_seconds_count{route=/v1/audio/speech}"] >= 2
    assert metrics["glmtts_time_to_first_audio_seconds_count{route=/v1/audio/speech}"] >= 2
    status = client.get("/v1/status").json()["batch"]
    assert status["steps"] == metrics["glmtts_batch_size_count"] and status["mean_batch_size"] >= 1


def test_eight_concurrent_requests_to_a_batching_server_each_equal_the_request_alone(tmp_path: Path) -> None:
    options = {"batching": True, "step_delay_s": 0.02}
    server = ServerProcess(
        tmp_path / "srv",
        ["--engine", "fake", "--engine-class", FAKE_ENGINE_CLASS, "--no-ui", "--max-batch", "8"],
        env={"GLMTTS_ENGINE_OPTIONS": json.dumps(options)},
    )
    try:
        server.wait_ready()
        bodies = [
            {"input": f"{LONG} Request {index}.", "voice": ("alloy", "onyx")[index % 2], "seed": index,
             "response_format": "pcm", "stream": index % 2 == 0}
            for index in range(8)
        ]  # fmt: skip

        def post(body: dict[str, Any]) -> httpx.Response:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                return client.post("/v1/audio/speech", json=body)

        with ThreadPoolExecutor(8) as pool:
            together = list(pool.map(post, bodies))
        alone = [post(body) for body in bodies]
        metrics = _metrics_of(server)
    finally:
        assert server.close() == 0, server.log()
    assert [answer.status_code for answer in together] == [200] * 8
    for body, batched, solo in zip(bodies, together, alone, strict=True):
        assert len(batched.content) > 24000, body  # over half a second of 16-bit audio
        assert batched.content == solo.content, body
    assert metrics["glmtts_batch_size_sum"] > metrics["glmtts_batch_size_count"]  # some steps batched


def _metrics_of(server: ServerProcess) -> dict[str, float]:
    samples = {}
    for family in text_string_to_metric_families(server.client.get("/metrics").text):
        for sample in family.samples:
            if not sample.labels:
                samples[sample.name] = sample.value
    return samples
