"""The real server (``glmtts serve`` under uvicorn, in a subprocess) on the fake engine.

One server for the module: not ready for ~3 s (slow load), then ready; max queue 2; 0.2 s per sentence.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import soundfile as sf
from openai import OpenAI
from prometheus_client.parser import text_string_to_metric_families

from tests.support.harness import FAKE_ENGINE_CLASS, ServerProcess, tone
from tests.support.serving.audio_checks import decode, decode_streamed_wav, decode_with_ffmpeg, level_dbfs

SEGMENT_DELAY_S = 0.2
FIVE_SENTENCES = "One two three. Four five six. Seven eight nine. Ten eleven twelve. Thirteen fourteen."
MAX_UPLOAD_BYTES = 1_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    options = f'{{"load_delay_s": 3.0, "segment_delay_s": {SEGMENT_DELAY_S}}}'
    process = ServerProcess(
        tmp_path_factory.mktemp("server"),
        [
            "--engine",
            "fake",
            "--engine-class",
            FAKE_ENGINE_CLASS,
            "--no-ui",
            "--max-queue",
            "2",
            "--warmup-rounds",
            "0",
            "--max-upload-bytes",
            str(MAX_UPLOAD_BYTES),
            "--max-prompt-s",
            "20",
        ],
        env={"GLMTTS_ENGINE_OPTIONS": options},
    )
    process.wait_listening()
    yield process
    assert process.close() == 0, process.log()


def _speech(server: ServerProcess, **body: object) -> httpx.Response:
    return server.client.post(
        "/v1/audio/speech", json={"input": "Hello there.", "response_format": "wav", **body}
    )


def test_ready_is_503_then_200_and_requests_before_ready_get_503(server: ServerProcess) -> None:
    early = server.client.get("/ready")
    assert early.status_code == 503 and early.json()["phase"] in ("init", "loading")
    refused = _speech(server)
    assert refused.status_code == 503 and refused.json()["error"]["type"] == "not_ready"
    assert refused.headers["retry-after"] == "1"
    assert server.client.get("/health").status_code == 200
    status = server.client.get("/v1/status").json()
    assert status["phase"] in ("init", "loading") and status["load"]["total_bytes"] in (0, 1000)
    server.wait_ready(timeout_s=30)
    assert server.client.get("/ready").json() == {"ready": True, "phase": "ready"}
    assert _speech(server).status_code == 200


def test_openai_sdk_returns_playable_audio(server: ServerProcess) -> None:
    server.wait_ready()
    client = OpenAI(base_url=f"{server.url}/v1", api_key="unused")
    response = client.audio.speech.create(
        model="glmtts", voice="nova", input="Hello from the SDK.", response_format="wav"
    )
    samples, sample_rate = decode(response.content)
    assert sample_rate == 24000 and len(samples) / sample_rate > 0.5 and level_dbfs(samples) > -25
    with client.audio.speech.with_streaming_response.create(
        model="glmtts", voice="alloy", input="Streaming via the SDK.", response_format="mp3"
    ) as streamed:
        mp3 = b"".join(streamed.iter_bytes())
    samples, _ = decode(mp3)
    assert len(samples) > 0.5 * 24000


@pytest.mark.parametrize("fmt", ["wav", "flac", "opus", "mp3"])
def test_streaming_sends_first_audio_before_synthesis_ends(server: ServerProcess, fmt: str) -> None:
    server.wait_ready()
    started = time.monotonic()
    first_at = None
    body = b""
    with server.client.stream(
        "POST", "/v1/audio/speech", json={"input": FIVE_SENTENCES, "response_format": fmt, "stream": True}
    ) as response:
        for data in response.iter_bytes():
            first_at = first_at or time.monotonic() - started
            body += data
    total_s = time.monotonic() - started
    assert first_at is not None and total_s >= 5 * SEGMENT_DELAY_S
    assert first_at < total_s - 3 * SEGMENT_DELAY_S, (first_at, total_s)
    samples = decode_streamed_wav(body) if fmt == "wav" else decode_with_ffmpeg(body)
    assert len(samples) / 24000 > 2.0 and level_dbfs(samples) > -25


def test_client_disconnect_cancels_synthesis(server: ServerProcess) -> None:
    server.wait_ready()
    twenty_sentences = " ".join(f"Sentence number {i}." for i in range(20))  # 20 x 0.2 s = 4 s of work
    with (
        httpx.Client(base_url=server.url, timeout=30) as client,
        client.stream(
            "POST",
            "/v1/audio/speech",
            json={"input": twenty_sentences, "response_format": "pcm", "stream": True},
        ) as response,
    ):
        next(response.iter_bytes())
    disconnected = time.monotonic()
    while server.client.get("/v1/status").json()["queue"]["busy"]:
        time.sleep(0.05)
    assert time.monotonic() - disconnected < 2.0  # stopped long before the 4 s of remaining synthesis


def test_full_queue_gives_429_and_server_stays_ready(server: ServerProcess) -> None:
    server.wait_ready()
    statuses: list[int] = []
    retry_after: list[str] = []

    def call() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            response = client.post(
                "/v1/audio/speech", json={"input": FIVE_SENTENCES, "response_format": "pcm"}
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                retry_after.append(response.headers["retry-after"])
                assert response.json()["error"]["type"] == "overloaded"

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    time.sleep(0.1)
    assert server.client.get("/ready").status_code == 200  # ready while saturated
    for thread in threads:
        thread.join(60)
    assert sorted(statuses).count(200) >= 3 and 429 in statuses, statuses
    assert all(int(value) >= 1 for value in retry_after)
    assert server.client.get("/ready").status_code == 200 and _speech(server).status_code == 200


def _wav(samples: np.ndarray, sample_rate: int = 24000, fmt: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format=fmt)
    return buffer.getvalue()


def _bad_inputs() -> list[tuple[str, str, dict[str, object], int]]:
    """(name, path, httpx request kwargs, expected status)."""
    ok_clip = ("p.wav", _wav(tone(2.0)), "audio/wav")
    hour_of_silence = ("long.flac", _wav(np.zeros(3600 * 8000, dtype=np.float32), 8000, "FLAC"), "audio/flac")
    speech = "/v1/audio/speech"
    tts = "/v1/tts"

    def openai(**body: object) -> dict[str, object]:
        return {"json": {"input": "Hello.", **body}}

    def form(files: dict[str, object] | None = None, **fields: str) -> dict[str, object]:
        return {"data": {"text": "Hello.", **fields}, "files": files or {"unused": ("x.txt", b"x")}}

    return [
        ("empty text", speech, openai(input=""), 400),
        ("whitespace text", speech, openai(input="   \n "), 400),
        ("punctuation only", speech, openai(input="!!! ... ???"), 400),
        ("100k chars", speech, openai(input="a" * 100_000), 413),
        ("input not a string", speech, openai(input=12345), 422),
        ("missing input", speech, {"json": {"voice": "alloy"}}, 422),
        (
            "invalid json",
            speech,
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            422,
        ),
        ("json array", speech, {"json": ["Hello"]}, 422),
        (
            "wrong content type",
            speech,
            {"content": b"input=Hello", "headers": {"content-type": "text/plain"}},
            415,
        ),
        ("unknown voice", speech, openai(voice="nobody"), 400),
        ("path-like voice", speech, openai(voice="../../etc/passwd"), 400),
        ("absolute path voice", speech, openai(voice="/etc/passwd"), 400),
        ("unknown format", speech, openai(response_format="wma"), 400),
        ("empty text, streamed flac", speech, openai(input="", response_format="flac", stream=True), 400),
        (
            "unknown voice, streamed opus",
            speech,
            openai(voice="nobody", response_format="opus", stream=True),
            400,
        ),
        ("negative seed", speech, openai(seed=-1), 422),
        ("seed too big", speech, openai(seed=2**40), 422),
        ("seed not a number", speech, openai(seed="abc"), 422),
        ("speed zero", speech, openai(speed=0), 422),
        ("speed not a number", speech, openai(speed="fast"), 422),
        ("unknown sampling", speech, openai(sampling="beam"), 422),
        ("temperature too high", speech, openai(temperature=99), 422),
        ("tts wrong content type", tts, {"json": {"text": "Hello."}}, 415),
        ("tts missing text", tts, {"data": {"voice": "alloy"}, "files": {"unused": ("x.txt", b"x")}}, 400),
        (
            "non-audio upload",
            tts,
            form({"prompt_audio": ("p.wav", b"this is not audio at all" * 50, "audio/wav")}),
            422,
        ),
        ("zero-byte upload", tts, form({"prompt_audio": ("p.wav", b"", "audio/wav")}), 422),
        ("60-min prompt", tts, form({"prompt_audio": hour_of_silence}), 422),
        ("too-short prompt", tts, form({"prompt_audio": ("p.wav", _wav(tone(0.3)), "audio/wav")}), 422),
        (
            "silent prompt",
            tts,
            form({"prompt_audio": ("p.wav", _wav(np.zeros(48000, np.float32)), "audio/wav")}),
            422,
        ),
        (
            "upload too large",
            tts,
            form({"prompt_audio": ("p.wav", b"\0" * (MAX_UPLOAD_BYTES + 10), "audio/wav")}),
            413,
        ),
        (
            "body too large",
            tts,
            form({"prompt_audio": ("p.wav", b"\0" * (MAX_UPLOAD_BYTES * 2), "audio/wav")}),
            413,
        ),
        ("prompt text without audio", tts, form(prompt_text="hello"), 422),
        ("bad phoneme flag", tts, form(phoneme="maybe"), 422),
        ("bad stream flag", tts, form({"prompt_audio": ok_clip}, stream="sometimes"), 422),
        ("voice name with path", "/v1/voices", form({"audio": ok_clip}, name="../evil"), 422),
        ("voice without audio", "/v1/voices", form(name="someone"), 422),
        ("unknown stored voice", "/v1/voices/..%2F..%2Fetc%2Fpasswd", {}, 404),
        (
            "bad dictionary",
            "/v1/pronunciations",
            {"content": b"not json\n", "headers": {"content-type": "text/plain"}},
            422,
        ),
        ("unknown route", "/v1/nothing-here", {}, 404),
    ]


def test_bad_inputs_get_clear_4xx_and_server_stays_up(server: ServerProcess) -> None:
    server.wait_ready()
    cases = _bad_inputs()
    assert len(cases) >= 20
    methods = {
        "/v1/pronunciations": "PUT",
        "/v1/voices/..%2F..%2Fetc%2Fpasswd": "GET",
        "/v1/nothing-here": "GET",
    }
    failures = []
    for name, path, kwargs, expected in cases:
        response = server.client.request(methods.get(path, "POST"), path, **kwargs)  # type: ignore[arg-type]
        body = response.json()
        if response.status_code != expected or not body["error"]["message"] or not body["error"]["type"]:
            failures.append(f"{name}: {response.status_code} {body}")
        if server.client.get("/ready").status_code != 200:
            failures.append(f"{name}: server not ready afterwards")
    assert failures == []
    assert _speech(server).status_code == 200


def test_metrics_parse_as_prometheus_text(server: ServerProcess) -> None:
    server.wait_ready()
    text = server.client.get("/metrics").text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    statuses = {s.labels["status"] for s in families["glmtts_requests"].samples if s.name.endswith("_total")}
    assert {"200", "503", "429", "400", "422"} <= statuses
    assert any(
        s.value > 0
        for s in families["glmtts_time_to_first_audio_seconds"].samples
        if s.name.endswith("_count")
    )
    waits = [s for s in families["glmtts_queue_wait_seconds"].samples if s.name.endswith("_count")]
    assert waits and max(s.value for s in waits) > 0
