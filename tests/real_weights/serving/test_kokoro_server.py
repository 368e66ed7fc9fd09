"""End to end on the real default engine: ``glmtts serve --engine kokoro`` in a subprocess.

Key paths only (the fake-engine tests cover the rest): the start (/health before /ready, /ready 503 then
200, the start-up table with kokoro's own load steps, the first request as fast as the next ones), the
OpenAI SDK gets playable speech, and streaming delivers audio before synthesis ends.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator

import numpy as np
import pytest
from openai import OpenAI

from tests.support.harness import ServerProcess
from tests.support.serving.audio_checks import decode, decode_streamed_wav, level_dbfs
from tests.support.serving.startup_checks import (
    COMMON_STEPS,
    assert_overlaps,
    assert_probe_order,
    first_over_warm,
    startup_steps,
    watch_start,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("glmtts.engines.kokoro") is None, reason="kokoro engine not available"
    ),
]
#: Two synthesis segments (kokoro merges short sentences): the first chunk is ~70% of the work.
STORY = "太阳慢慢升起来了，鸟儿开始唱歌，村子里的人们一个接一个地醒来。他们打开窗户，迎接新的一天。"


@pytest.fixture(scope="module")
def kokoro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path_factory.mktemp("kokoro"),
        ["--engine", "kokoro", "--no-ui"],
        timeout_s=300,
    )
    yield server
    assert server.close() == 0, server.log()


def _speech_like(samples: np.ndarray, sample_rate: int) -> None:
    assert len(samples) / sample_rate > 0.8 and level_dbfs(samples) > -35
    frames = samples[: len(samples) // 480 * 480].reshape(-1, 480)
    frame_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-10)
    assert np.percentile(frame_db, 90) - np.percentile(frame_db, 10) > 15  # syllables and pauses, not a tone


def test_start_order_then_first_request_is_warm(kokoro: ServerProcess) -> None:
    """The first test on this server: it watches the start and sends the first synthesis after ready."""
    seen = watch_start(kokoro, 600)
    assert_probe_order(seen)
    status = kokoro.client.get("/v1/status").json()
    assert status["engine"] == "kokoro" and status["phase"] == "ready" and status["builtin_voices"]
    steps = startup_steps(status)
    kokoro_steps = ("model files", "onnx session", "text frontend", "phonemizer (espeak-ng)")
    assert set(COMMON_STEPS) | {"style pack profiles", *kokoro_steps} <= set(steps), sorted(steps)
    assert_overlaps(steps["onnx session"], steps["text frontend"])
    body = {"input": "Hello, this is a short request.", "response_format": "wav"}
    ratio = first_over_warm(lambda: kokoro.client.post("/v1/audio/speech", json=body))
    assert ratio < 1.6, ratio


def test_openai_sdk_gets_playable_speech(kokoro: ServerProcess) -> None:
    kokoro.wait_ready(600)
    client = OpenAI(base_url=f"{kokoro.url}/v1", api_key="unused")
    audio = client.audio.speech.create(
        model="glmtts", voice="alloy", input="Hello, how are you?", response_format="wav"
    )
    samples, sample_rate = decode(audio.content)
    _speech_like(samples, sample_rate)


def test_streaming_delivers_audio_before_synthesis_ends(kokoro: ServerProcess) -> None:
    kokoro.wait_ready(600)
    started = time.monotonic()
    first_at = None
    body = b""
    with kokoro.client.stream(
        "POST", "/v1/audio/speech", json={"input": STORY, "response_format": "wav", "stream": True}
    ) as response:
        assert response.status_code == 200
        for data in response.iter_bytes():
            first_at = first_at or time.monotonic() - started
            body += data
    total_s = time.monotonic() - started
    assert first_at is not None and first_at < 0.85 * total_s, (first_at, total_s)
    _speech_like(decode_streamed_wav(body), 24000)


def test_word_timestamps_come_back_in_the_json(kokoro: ServerProcess) -> None:
    """kokoro times words: ``timestamps: "word"`` is served as asked, each segment's words in order, the
    last ending with the returned audio."""
    import base64

    kokoro.wait_ready(600)
    text = "今天是2025年5月1日，天气很好。Then we went home."
    body = {"input": text, "response_format": "wav", "timestamps": "word"}
    response = kokoro.client.post("/v1/audio/speech", json=body)
    document = response.json()
    assert response.status_code == 200 and document["timestamps"] == "word" and document["warnings"] == []
    samples, sample_rate = decode(base64.b64decode(document["audio"]))
    words = [word for segment in document["segments"] for word in segment["words"]]
    assert [w["text"] for w in words][-4:] == ["Then", "we", "went", "home"]
    assert all(text[w["char_start"] : w["char_end"]] == w["text"] for w in words)
    times = [t for w in words for t in (w["start"], w["end"])]
    assert times == sorted(times)
    assert words[-1]["end"] == pytest.approx(samples.size / sample_rate, abs=0.005)
