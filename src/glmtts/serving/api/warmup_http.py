"""Warm the HTTP layer itself before READY: real requests through the app, in process (no socket).

The service warm-up (:mod:`glmtts.synthesis.warmup`) warms the engine and primes the encoders; this one sends
one tiny request per route and response kind — OpenAI JSON (whole, streamed, SSE), voices listing, status,
models — through routing, validation and middleware, so a user's first request does not pay for first-time
code paths either. The prompt-upload route gets a clip too short to use: multipart parsing, decoding and
the prompt checks run, the voice adaptation does not (the engine warm-up primed that code, and one real
adaptation costs more than the rest of the start). Another output format of the same route is not sent:
only its encoder differs, and that is primed already. Warm-up requests carry a per-process
token that lets them past the readiness gate.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import httpx
from fastapi import FastAPI

from glmtts.audio import encode_audio
from glmtts.serving.api.deps import WARMUP_HEADER
from glmtts.synthesis.warmup import synthetic_voice_samples

_LOGGER = logging.getLogger(__name__)

#: The engine's shortest sentence: these requests exercise the HTTP code paths (parsing, validation,
#: encoding, streamed responses); the synthesis itself is warmed by the engine's own warm-up.
HTTP_WARMUP_TEXT = "Hi."


#: A prompt clip this short is refused by the prompt checks (after upload parsing and decoding).
REFUSED_CLIP_S = 0.1


def _requests(sample_rate: int, round_index: int) -> list[tuple[str, str, dict[str, object], bool]]:
    """(method, path, request arguments, whether it must succeed)."""
    samples = synthetic_voice_samples(sample_rate, seed=1000 + round_index, duration_s=REFUSED_CLIP_S)
    upload = {
        "files": {"prompt_audio": ("prompt.wav", encode_audio(samples, sample_rate, "wav"), "audio/wav")}
    }
    speech = "/v1/audio/speech"
    form = {"text": HTTP_WARMUP_TEXT, "prompt_text": "A prompt.", "format": "wav"}
    return [
        ("GET", "/v1/status", {}, True),
        ("GET", "/v1/voices", {}, True),
        ("GET", "/v1/models", {}, True),
        ("POST", speech, {"json": {"input": HTTP_WARMUP_TEXT, "voice": "alloy", "response_format": "wav"}}, True),
        ("POST", speech, {"json": {"input": HTTP_WARMUP_TEXT, "response_format": "pcm", "stream": True}}, True),
        ("POST", speech, {"json": {"input": HTTP_WARMUP_TEXT, "response_format": "pcm", "stream_format": "sse"}}, True),
        ("POST", "/v1/tts", {"data": form, **upload}, False),
    ]  # fmt: skip


def http_warmup(
    app: FastAPI, token: str, rounds: int, sample_rate: Callable[[], int]
) -> Callable[[], Awaitable[None]]:
    """A coroutine function sending the warm-up requests through ``app`` (``rounds`` times)."""

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        headers = {WARMUP_HEADER: token}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://warmup", headers=headers
        ) as client:
            for round_index in range(rounds):
                for method, path, kwargs, succeeds in _requests(sample_rate(), round_index):
                    response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
                    if (response.status_code == 200) != succeeds or response.status_code >= 500:
                        _LOGGER.warning(
                            "HTTP warm-up %s %s: %d %s",
                            method,
                            path,
                            response.status_code,
                            response.text[:200],
                        )

    return run
