"""A fast, deterministic engine for testing the job machinery (not the speech).

It "speaks" a tone whose pitch depends on the voice and whose length depends on the text. Behaviour knobs
come from ``EngineConfig.extra`` (or, for engines built by a CLI subprocess, the environment variables
``FAKE_ENGINE_DELAY_S`` and ``FAKE_ENGINE_LOG``):

- ``delay_s``: sleep this long per synthesis (to kill a process mid-job);
- ``log_path``: append ``<text>`` to this file after each completed synthesis (to count syntheses across
  processes);
- ``prepare_log_path``: append a line per ``prepare_voice`` call.

Texts trigger failures: containing ``BOOM`` raises a plain ``RuntimeError`` (a bug), ``FLAKY`` raises
:class:`EngineError` on the first call per process (a transient error), ``ALWAYS_ENGINE_ERROR`` always does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import numpy as np

from glmtts.audio import validate_prompt
from glmtts.engines.base import AudioChunk, CancelToken, Engine, SynthesisOptions, Voice
from glmtts.errors import EngineError, UnknownVoiceError

SAMPLE_RATE = 16_000
BUILTIN = ("tone_a", "tone_b")


class FakeEngine(Engine):
    name = "fake"

    def __init__(self, config):  # type: ignore[no-untyped-def]
        super().__init__(config)
        self.n_prepare = 0
        self.n_synth = 0
        self._flaky_seen: set[str] = set()

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    def load(self, progress=None) -> None:  # type: ignore[no-untyped-def]
        return None

    def warmup(self) -> None:
        return None

    def builtin_voices(self) -> tuple[str, ...]:
        return BUILTIN

    def builtin_voice(self, name: str | None = None) -> Voice:
        name = name or BUILTIN[0]
        if name not in BUILTIN:
            raise UnknownVoiceError(name)
        return Voice(
            voice_id=name,
            engine=self.name,
            builtin=True,
            features={"pitch": np.array([200.0 + 100 * BUILTIN.index(name)])},
        )

    def prepare_voice(self, samples: np.ndarray, sample_rate: int, prompt_text: str | None = None) -> Voice:
        validate_prompt(samples, sample_rate)
        self.n_prepare += 1
        _append(self.config.extra.get("prepare_log_path"), f"{len(samples)}")
        pitch = 150.0 + float(np.abs(samples).mean()) * 1000.0
        return Voice(
            voice_id=f"p{len(samples)}",
            engine=self.name,
            prompt_text=prompt_text,
            features={"pitch": np.array([pitch])},
        )

    def stream(
        self, text: str, voice: Voice, options: SynthesisOptions, cancel: CancelToken | None = None
    ) -> Iterator[AudioChunk]:
        delay_s = float(self.config.extra.get("delay_s", os.environ.get("FAKE_ENGINE_DELAY_S", 0.0)))
        if delay_s:
            deadline = time.monotonic() + delay_s
            while time.monotonic() < deadline:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                time.sleep(min(0.005, delay_s))
        if "BOOM" in text:
            raise RuntimeError("fake engine bug")
        if "ALWAYS_ENGINE_ERROR" in text:
            raise EngineError("fake device failure")
        if "FLAKY" in text and text not in self._flaky_seen:
            self._flaky_seen.add(text)
            raise EngineError("fake transient failure")
        self.n_synth += 1
        n_samples = int(SAMPLE_RATE * (0.1 + 0.01 * len(text)))
        t = np.arange(n_samples, dtype=np.float32) / SAMPLE_RATE
        pitch = float(voice.features["pitch"][0]) if "pitch" in voice.features else 220.0
        samples = (0.3 * np.sin(2 * np.pi * pitch * t)).astype(np.float32)
        _append(self.config.extra.get("log_path", os.environ.get("FAKE_ENGINE_LOG")), text)
        half = n_samples // 2
        yield AudioChunk(samples[:half], SAMPLE_RATE, 0, False)
        yield AudioChunk(samples[half:], SAMPLE_RATE, 0, True)


def _append(path: object, line: str) -> None:
    if not path:
        return
    fd = os.open(str(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line.replace("\n", " ") + "\n").encode("utf-8"))
    finally:
        os.close(fd)
