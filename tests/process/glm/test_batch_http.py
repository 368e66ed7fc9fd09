"""8 concurrent glm requests to a real ``glmtts serve`` on the tiny checkpoint (``--max-batch 8``).

Each response must be byte-identical to the same request sent alone with the same seed, and the server
must have decoded them together (the glm engine declares ``batching``; the worker's scheduler batches).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.harness import ServerProcess

TEXTS = ("你好，欢迎使用。", "今天天气很好。", "我们一起去公园吧。", "这是第四个请求。")
N_REQUESTS = 8


@pytest.fixture(scope="module")
def glm_server(tiny_ckpt: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path_factory.mktemp("glm_batch"),
        ["--engine", "glm", "--ckpt", str(tiny_ckpt), "--no-ui", "--max-batch", str(N_REQUESTS)],
        env={"GLMTTS_ENGINE_OPTIONS": json.dumps({"max_token_ratio": 4.0}), "GLMTTS_N_THREADS": "1"},
        timeout_s=300,
    )
    server.wait_ready(timeout_s=300)
    yield server
    assert server.close() == 0, server.log()


def _bodies() -> list[dict[str, Any]]:
    return [
        {"input": TEXTS[index % len(TEXTS)], "seed": 100 + index, "response_format": "pcm",
         "stream": index % 2 == 1}
        for index in range(N_REQUESTS)
    ]  # fmt: skip


def _post(server: ServerProcess, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=300) as client:
        return client.post("/v1/audio/speech", json=body)


def _batch_sizes(server: ServerProcess) -> tuple[float, float]:
    """(sum, count) of the server's batch-size histogram."""
    values = {}
    for family in text_string_to_metric_families(server.client.get("/metrics").text):
        for sample in family.samples:
            if sample.name in ("glmtts_batch_size_sum", "glmtts_batch_size_count"):
                values[sample.name] = sample.value
    return values.get("glmtts_batch_size_sum", 0.0), values.get("glmtts_batch_size_count", 0.0)


def test_eight_concurrent_glm_requests_batch_and_each_equals_the_request_alone(
    glm_server: ServerProcess,
) -> None:
    status = glm_server.client.get("/v1/status").json()
    assert status["capabilities"]["batching"] is True, "the glm engine does not batch yet (batch-engine)"
    bodies = _bodies()
    before_sum, before_count = _batch_sizes(glm_server)
    with ThreadPoolExecutor(N_REQUESTS) as pool:
        together = list(pool.map(lambda body: _post(glm_server, body), bodies))
    after_sum, after_count = _batch_sizes(glm_server)
    alone = [_post(glm_server, body) for body in bodies]
    assert [answer.status_code for answer in together] == [200] * N_REQUESTS, together[0].text
    for body, batched, solo in zip(bodies, together, alone, strict=True):
        assert solo.status_code == 200 and len(solo.content) > 0, body
        assert batched.content == solo.content, body
    assert after_sum - before_sum > after_count - before_count, "no step decoded two requests together"
