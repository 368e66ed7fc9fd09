"""A small, fast, deterministic engine for serving tests: harmonic tones, one chunk per sentence.

Options (``EngineConfig.extra``): ``load_delay_s``, ``segment_delay_s`` (per chunk), ``prepare_delay_s``,
``fail_load`` (a message: load raises CheckpointError with it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import numpy as np

from glmtts.audio import validate_prompt
from glmtts.engines.base import (
    AudioChunk,
    CancelToken,
    Engine,
    EngineConfig,
    ProgressCallback,
    SynthesisOptions,
    Voice,
)
from glmtts.errors import CheckpointError, NothingToSayError, UnknownVoiceError

SAMPLE_RATE = 24000
_BUILTIN_F0 = {"fake_f": 220.0, "fake_m": 120.0}
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


class FakeEngine(Engine):
    name = "fake"

    def __init__(self, config: EngineConfig) -> None:
        super().__init__(config)
        self.loaded = False
        self.asleep = False
        self.n_prepared = 0
        self.n_warmups = 0

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    def _option(self, name: str, default: float) -> float:
        return float(self.config.extra.get(name, default))

    def load(self, progress: ProgressCallback | None = None) -> None:
        if self.config.extra.get("fail_load"):
            raise CheckpointError(str(self.config.extra["fail_load"]))
        steps = 4
        for step in range(steps):
            time.sleep(self._option("load_delay_s", 0.0) / steps)
            if progress is not None:
                progress("weights", (step + 1) * 250, 1000)
        self.loaded = True

    def warmup(self) -> None:
        self.n_warmups += 1

    def builtin_voices(self) -> tuple[str, ...]:
        return tuple(_BUILTIN_F0)

    def builtin_voice(self, name: str | None = None) -> Voice:
        key = name or "fake_f"
        if key not in _BUILTIN_F0:
            raise UnknownVoiceError(f"unknown voice {key!r}")
        return Voice(
            voice_id=key, engine=self.name, builtin=True, features={"f0": np.array([_BUILTIN_F0[key]])}
        )

    def prepare_voice(self, samples: np.ndarray, sample_rate: int, prompt_text: str | None = None) -> Voice:
        validate_prompt(samples, sample_rate)
        time.sleep(self._option("prepare_delay_s", 0.0))
        self.n_prepared += 1
        spectrum = np.abs(np.fft.rfft(samples[: sample_rate * 2]))
        peak_hz = float(np.argmax(spectrum[1:]) + 1) * sample_rate / (2 * (spectrum.size - 1))
        return Voice(
            voice_id="prompt", engine=self.name, prompt_text=prompt_text, features={"f0": np.array([peak_hz])}
        )

    def stream(
        self, text: str, voice: Voice, options: SynthesisOptions, cancel: CancelToken | None = None
    ) -> Iterator[AudioChunk]:
        if not self.loaded or self.asleep:
            raise RuntimeError("fake engine used before load or while asleep")
        segments = [s for s in _SENTENCE_END.split(text) if re.search(r"\w", s)]
        if not segments:
            raise NothingToSayError("text holds nothing speakable")
        f0 = float(voice.features["f0"][0])
        rng = np.random.default_rng(options.seed)
        for index, segment in enumerate(segments):
            if cancel is not None:
                cancel.raise_if_cancelled()
            time.sleep(self._option("segment_delay_s", 0.0))
            duration_s = max(0.2, 0.04 * len(segment)) / options.speed
            t = np.arange(int(duration_s * SAMPLE_RATE)) / SAMPLE_RATE
            wave = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5))
            samples = (0.2 * wave + 0.001 * rng.standard_normal(t.size)).astype(np.float32)
            yield AudioChunk(samples, SAMPLE_RATE, segment_index=index, is_last=index == len(segments) - 1)

    def release(self) -> int:
        return 4096

    def sleep(self) -> None:
        self.asleep = True

    def wake(self) -> None:
        self.asleep = False

    def memory_bytes(self) -> dict[str, int]:
        return {"weights": 0 if self.asleep else 1_000_000}
