"""Process-level lifecycle: a failed load exits non-zero with the reason; SIGTERM drains, then exits 0."""

from __future__ import annotations

import signal
import threading
from typing import Any

import httpx

from tests.support.harness import FAKE_ENGINE_CLASS
from tests.support.serving.audio_checks import decode_streamed_wav

FAKE = [
    "--engine",
    "fake",
    "--engine-class",
    FAKE_ENGINE_CLASS,
    "--no-ui",
    "--warmup-rounds",
    "0",
]


def test_load_failure_exits_non_zero_with_the_reason(server_factory: Any) -> None:
    server = server_factory(
        FAKE, env={"GLMTTS_ENGINE_OPTIONS": '{"fail_load": "llm/model.safetensors is missing"}'}
    )
    assert server.process.wait(60) == 2
    assert "error: llm/model.safetensors is missing" in server.log()


def test_sigterm_drains_in_flight_request_then_exits_zero(server_factory: Any) -> None:
    server = server_factory(FAKE, env={"GLMTTS_ENGINE_OPTIONS": '{"segment_delay_s": 0.3}'})
    server.wait_ready(60)
    result: dict[str, Any] = {}
    first_bytes = threading.Event()

    def long_request() -> None:
        body = {"input": "One. Two. Three. Four. Five.", "response_format": "wav", "stream": True}
        with (
            httpx.Client(base_url=server.url, timeout=30) as client,
            client.stream("POST", "/v1/audio/speech", json=body) as response,
        ):
            chunks = []
            for data in response.iter_bytes():
                chunks.append(data)
                first_bytes.set()
            result["status"], result["body"] = response.status_code, b"".join(chunks)

    thread = threading.Thread(target=long_request)
    thread.start()
    assert first_bytes.wait(20)  # the request is being synthesized
    server.process.send_signal(signal.SIGTERM)
    thread.join(30)
    assert server.process.wait(30) == 0, server.log()
    assert result["status"] == 200
    assert len(decode_streamed_wav(result["body"])) >= 5 * 0.2 * 24000  # all five sentences arrived
    assert "-> draining" in server.log()
