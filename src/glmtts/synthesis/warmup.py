"""The warm-up plan: every request shape once through the real service before the host says READY.

Shapes: the engine's own warm-up, short English and Chinese text, every output format (each encoder's
first use), long multi-sentence text, a new prompt voice and the same voice again (cache hit), a stored
voice if any, and streaming (first and steady chunks; wav and mp3). Each runs ``rounds`` times; then
``extra_steps`` (the server adds its HTTP warm-up).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import numpy as np

from glmtts.audio import AudioFormat, encode_audio
from glmtts.synthesis.request import SynthesisRequest
from glmtts.synthesis.service import SynthesisService
from glmtts.voices import PromptClip, PromptLimits, VoiceSpec

_LOGGER = logging.getLogger(__name__)

SHORT_EN = "Hello there, the server is warming up."
SHORT_ZH = "你好，欢迎使用语音合成服务。"
LONG_TEXT = (
    "The first sentence sets the scene for a longer request, with a number like 42. "
    "第二句话是中文，用来检查中英混合的文本。 The last sentence makes sure several segments follow each other."
)
STREAM_TEXT = "The first part is short. The second part follows. The third part ends it."
PROMPT_TEXT = "This is a short prompt used to warm up voice extraction."

Step = tuple[str, Callable[[], Awaitable[object]]]


def synthetic_voice_samples(sample_rate: int, seed: int, duration_s: float = 3.0) -> np.ndarray:
    """A voiced-like clip (harmonics with vibrato and a syllable-rate envelope) that passes prompt checks."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    f0 = (110.0 + 40.0 * rng.random()) * (1.0 + 0.04 * np.sin(2 * np.pi * 4.0 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    wave = sum(np.sin(k * phase) * np.exp(-0.35 * k) for k in range(1, 20))
    envelope = 0.3 + 0.7 * np.abs(np.sin(2 * np.pi * 2.5 * t))
    noise = 0.002 * rng.standard_normal(t.size)
    return (0.25 * envelope * wave / np.max(np.abs(wave)) + noise).astype(np.float32)


class Warmup:
    """Named steps, each one real request through the service."""

    def __init__(self, service: SynthesisService, rounds: int, extra_steps: Sequence[Step] = ()) -> None:
        self.service = service
        self.rounds = rounds
        self.extra_steps = list(extra_steps)

    def steps(self) -> list[Step]:
        worker = self.service.worker
        steps: list[Step] = [
            ("engine.warmup", lambda: asyncio.wrap_future(worker.submit(lambda e: e.warmup())))
        ]
        stored = self.service.voices.store.list()
        sample_rate = self.service.host.sample_rate
        for round_index in range(self.rounds):
            prompt = PromptClip.of(
                synthetic_voice_samples(sample_rate, seed=round_index),
                sample_rate,
                PROMPT_TEXT,
                PromptLimits(),
            )
            steps += [
                ("short/en", self._whole(SHORT_EN)),
                ("formats", self._encode_formats),
                ("short/zh", self._whole(SHORT_ZH)),
                ("long", self._whole(LONG_TEXT)),
                ("voice/new", self._whole(SHORT_EN, VoiceSpec(clip=prompt))),
                ("voice/cached", self._whole(SHORT_EN, VoiceSpec(clip=prompt))),
            ]
            if stored:
                steps.append(("voice/stored", self._whole(SHORT_EN, VoiceSpec(name=stored[0].voice_id))))
            for audio_format in (AudioFormat.WAV, AudioFormat.MP3):
                steps.append((f"stream/{audio_format.value}", self._streamed(audio_format)))
        return steps + (self.extra_steps if self.rounds > 0 else [])

    def _request(
        self, text: str, voice: VoiceSpec, stream: bool, audio_format: AudioFormat
    ) -> SynthesisRequest:
        options = self.service.decoder.options({}, stream=stream)
        return SynthesisRequest(
            text=text, voice=voice, options=options, audio_format=audio_format, route="warmup"
        )

    def _whole(self, text: str, voice: VoiceSpec | None = None) -> Callable[[], Awaitable[object]]:
        request = self._request(text, voice or VoiceSpec(), False, AudioFormat.WAV)

        async def run() -> object:
            result = await self.service.run(request).acollect()
            return await asyncio.to_thread(result.encode, request.audio_format)

        return run

    async def _encode_formats(self) -> None:
        """Encode real speech once in every output format, whole and streamed."""
        result = await self.service.run(
            self._request(SHORT_EN, VoiceSpec(), False, AudioFormat.WAV)
        ).acollect()
        for audio_format in AudioFormat:
            await asyncio.to_thread(encode_audio, result.samples, result.sample_rate, audio_format)

    def _streamed(self, audio_format: AudioFormat) -> Callable[[], Awaitable[object]]:
        request = self._request(STREAM_TEXT, VoiceSpec(), True, audio_format)

        async def consume() -> int:
            return sum([len(data) async for data in self.service.run(request).aencoded(audio_format)])

        return consume

    async def run(self) -> None:
        steps = self.steps()
        lifecycle = self.service.host.lifecycle
        lifecycle.start_warmup(len(steps))
        for name, step in steps:
            started = time.monotonic()
            await step()
            _LOGGER.debug("warm-up %s took %.3f s", name, time.monotonic() - started)
            lifecycle.report_warmup(name)
