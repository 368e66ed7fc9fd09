"""Start-up: load the engine and stored voices, then warm up every request shape before READY.

Warm-up goes through the same :class:`TTSService` path as real requests (worker queue, voice cache,
encoders, streaming bridge), so nothing a request can hit is exercised for the first time by a user. Shape
classes: short English and Chinese text, every output format (encoders), long multi-sentence text, a new
prompt voice and the same voice again (cache hit), a stored voice if any, and streaming (first and steady
chunks; wav and mp3). Each class runs ``settings.warmup_rounds`` times; then the app's HTTP warm-up sends
the same kinds of requests through the HTTP layer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import numpy as np

from glmtts.audio import AudioFormat, encode_audio
from glmtts.engines.base import Engine, EngineInfo
from glmtts.serving.encoding import StreamEncoder
from glmtts.serving.lifecycle import Phase
from glmtts.serving.requests import PromptClip, SpeechRequest
from glmtts.serving.service import TTSService

_LOGGER = logging.getLogger(__name__)

SHORT_EN = "Hello there, the server is warming up."
SHORT_ZH = "你好，欢迎使用语音合成服务。"
LONG_TEXT = (
    "The first sentence sets the scene for a longer request, with a number like 42. "
    "第二句话是中文，用来检查中英混合的文本。 The last sentence makes sure several segments follow each other."
)
STREAM_TEXT = "The first part is short. The second part follows. The third part ends it."
PROMPT_TEXT = "This is a short prompt used to warm up voice extraction."


def synthetic_prompt(sample_rate: int, seed: int, duration_s: float = 3.0) -> PromptClip:
    """A voiced-like clip (harmonics with vibrato and syllable-rate envelope) that passes prompt checks."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    f0_hz = 110.0 + 40.0 * rng.random()
    f0 = f0_hz * (1.0 + 0.04 * np.sin(2 * np.pi * 4.0 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    wave = sum(np.sin(k * phase) * np.exp(-0.35 * k) for k in range(1, 20))
    envelope = 0.3 + 0.7 * np.abs(np.sin(2 * np.pi * 2.5 * t))
    samples = (0.25 * envelope * wave / np.max(np.abs(wave)) + 0.002 * rng.standard_normal(t.size)).astype(
        np.float32
    )
    return PromptClip(samples=samples, sample_rate=sample_rate, prompt_text=PROMPT_TEXT)


async def load_engine(service: TTSService) -> EngineInfo:
    """Load the engine and make every stored voice usable, on the model thread."""
    service.lifecycle.set_phase(Phase.LOADING)

    def load(engine: Engine) -> EngineInfo:
        engine.load(progress=service.lifecycle.report_load)
        n_voices = service.voices.load_all(prepare=engine.prepare_voice)
        _LOGGER.info("engine %s loaded; %d stored voices ready", engine.name, n_voices)
        return engine.info()

    info = await asyncio.wrap_future(service.worker.submit(load))
    service.engine_info = info
    return info


class Warmup:
    """The warm-up plan: named steps, each one real request through the service."""

    def __init__(self, service: TTSService, rounds: int) -> None:
        self.service = service
        self.rounds = rounds
        #: Steps run after the planned ones (the app adds its HTTP warm-up).
        self.extra_steps: list[tuple[str, Callable[[], Awaitable[object]]]] = []

    def steps(self) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("engine.warmup", lambda: asyncio.wrap_future(self.service.worker.submit(lambda e: e.warmup())))
        ]
        stored = self.service.voices.list()
        for round_index in range(self.rounds):
            steps.append(("short/en", self._synth(SHORT_EN, AudioFormat.WAV)))
            steps.append(("formats", self._encode_formats))
            steps.append(("short/zh", self._synth(SHORT_ZH, AudioFormat.WAV)))
            steps.append(("long", self._synth(LONG_TEXT, AudioFormat.WAV)))
            prompt = synthetic_prompt(self.service.sample_rate, seed=round_index)
            steps.append(("voice/new", self._synth(SHORT_EN, AudioFormat.WAV, prompt=prompt)))
            steps.append(("voice/cached", self._synth(SHORT_EN, AudioFormat.WAV, prompt=prompt)))
            if stored:
                steps.append(
                    ("voice/stored", self._synth(SHORT_EN, AudioFormat.WAV, voice=stored[0].voice_id))
                )
            for audio_format in (AudioFormat.WAV, AudioFormat.MP3):
                steps.append((f"stream/{audio_format.value}", self._stream(STREAM_TEXT, audio_format)))
        return steps + self.extra_steps

    async def _encode_formats(self) -> None:
        """Encode real speech once in every output format (each encoder's first-use cost)."""
        result = await self.service.synthesize(SpeechRequest(text=SHORT_EN, route="warmup"))
        for audio_format in AudioFormat:
            await asyncio.to_thread(encode_audio, result.samples, result.sample_rate, audio_format)
            encoder = StreamEncoder(audio_format, result.sample_rate)
            encoder.encode(result.samples[: result.sample_rate // 2])
            encoder.finish()

    def _synth(
        self, text: str, audio_format: AudioFormat, prompt: PromptClip | None = None, voice: str | None = None
    ) -> Callable[[], Awaitable[object]]:
        request = SpeechRequest(
            text=text, voice=voice, prompt=prompt, audio_format=audio_format, route="warmup"
        )
        return lambda: self.service.synthesize(request)

    def _stream(self, text: str, audio_format: AudioFormat) -> Callable[[], Awaitable[object]]:
        request = SpeechRequest(text=text, audio_format=audio_format, route="warmup")

        async def consume() -> int:
            n_bytes = 0
            async for data in self.service.open_stream(request):
                n_bytes += len(data)
            return n_bytes

        return consume

    async def run(self) -> None:
        steps = self.steps()
        lifecycle = self.service.lifecycle
        lifecycle.start_warmup(len(steps))
        for name, step in steps:
            started = time.monotonic()
            await step()
            _LOGGER.debug("warm-up %s took %.3f s", name, time.monotonic() - started)
            lifecycle.report_warmup(name)


async def start_service(
    service: TTSService, extra_warmup: Callable[[], Awaitable[None]] | None = None
) -> None:
    """INIT→LOADING→WARMING→READY; a failure is recorded in the lifecycle (phase FAILED).

    ``extra_warmup`` runs after the engine/service warm-up, still before READY (the app passes its HTTP
    warm-up here).
    """
    lifecycle = service.lifecycle
    try:
        started = time.monotonic()
        await load_engine(service)
        lifecycle.set_phase(Phase.WARMING)
        warmup = Warmup(service, service.settings.warmup_rounds)
        if extra_warmup is not None and service.settings.warmup_rounds > 0:
            warmup.extra_steps.append(("http", extra_warmup))
        await warmup.run()
        lifecycle.set_phase(Phase.READY)
        _LOGGER.info("ready after %.2f s", time.monotonic() - started)
    except Exception as exc:  # boundary: start-up failure stops the server with the reason
        _LOGGER.error(
            "start-up failed: %s: %s", type(exc).__name__, exc, exc_info=_LOGGER.isEnabledFor(logging.DEBUG)
        )
        lifecycle.fail(exc)
