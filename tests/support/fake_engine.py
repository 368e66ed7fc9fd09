"""The one fake engine of the test suite: fast, deterministic harmonic tones, one chunk per sentence.

It "speaks" harmonics of the voice's f0 (built-in ``fake_f`` 220 Hz, ``fake_m`` 120 Hz; a prompt clip's
strongest frequency), 0.04 s per character of each sentence, with a little seeded noise. Behaviour knobs
come from ``EngineConfig.extra`` (or, for engines built in a CLI subprocess, ``FAKE_ENGINE_DELAY_S`` and
``FAKE_ENGINE_LOG``):

- ``load_delay_s``, ``segment_delay_s`` (per chunk), ``delay_s`` (per synthesis), ``prepare_delay_s``;
- ``fail_load``: a message; load raises :class:`CheckpointError` with it;
- ``log_path``: append each synthesized text to this file (counts syntheses across processes);
- ``text_frontend``: load the real text frontend and read the text through it (so the live pronunciation
  dictionary changes the audio: each segment carries a tone that depends on its phonemes);
- ``word_timing``: declare ``Capabilities.word_timestamps`` and time words when asked;
- ``batching``: declare ``Capabilities(batching=True)``; :meth:`FakeEngine.stream_steps` then parks
  (yields ``STEP_PENDING``) before each chunk and :meth:`FakeEngine.run_step` renders the next chunk of
  every parked sequence (``step_delay_s`` once per step), recording each step's batch size in
  :attr:`FakeEngine.step_sizes`. ``max_batch`` (default 4), ``batch_token_budget`` and
  ``kv_capacity_tokens`` make :meth:`FakeEngine.batch_limits`; ``kv_cache`` in :meth:`memory_bytes` is
  the preallocated capacity (1 KiB per position). A sequence's chunks depend only on its text, voice and
  seed, never on its batch mates: they are the chunks :meth:`FakeEngine.stream` yields.

Captions follow the contract of :mod:`glmtts.audio.chunk`: each chunk (one sentence) carries its own
:class:`CaptionSegment` with exact sample-based times and offsets into the request text; words split at
whitespace, timed in proportion to their characters.

Texts trigger failures: containing ``BOOM`` raises a plain ``RuntimeError`` (a bug), ``FLAKY`` raises
:class:`EngineError` on the first call per process (a transient error), ``ALWAYS_ENGINE_ERROR`` always does.
"""

from __future__ import annotations

import os
import re
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glmtts.audio import CaptionSegment, CaptionWord, to_mono
from glmtts.engines.base import (
    SPEED_LIMITS,
    AudioChunk,
    CancelToken,
    Capabilities,
    Engine,
    EngineConfig,
    ProgressCallback,
    SynthesisOptions,
    Voice,
)
from glmtts.engines.batching import STEP_PENDING, BatchLimits, StepPending
from glmtts.errors import CheckpointError, EngineError, NothingToSayError, UnknownVoiceError

ENGINE_CLASS = "tests.support.fake_engine:FakeEngine"
SAMPLE_RATE = 24000
BUILTIN_F0 = {"fake_f": 220.0, "fake_m": 120.0}
SECONDS_PER_CHAR = 0.04
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")
#: Bytes of fake KV cache per position (``memory_bytes()["kv_cache"]``).
KV_BYTES_PER_TOKEN = 1024


def sentences(text: str) -> list[str]:
    """The chunks the fake engine speaks for ``text`` (without a text frontend)."""
    return [s for s in _SENTENCE_END.split(text) if re.search(r"\w", s)]


def expected_samples(text: str, speed: float = 1.0) -> int:
    """How many samples the fake engine produces for ``text``."""
    return sum(int(max(0.2, SECONDS_PER_CHAR * len(s)) / speed * SAMPLE_RATE) for s in sentences(text))


def _caption(
    text: str, segment: str, cursor: int, start_s: float, end_s: float, words: bool
) -> CaptionSegment:
    """The caption of ``segment``, found in ``text`` from ``cursor`` on (words when ``words``)."""
    found = text.find(segment, cursor)
    char_start = found if found >= 0 else cursor
    char_end = min(len(text), char_start + len(segment))
    timed: list[CaptionWord] = []
    if words:
        span_s = (end_s - start_s) / max(1, len(segment))
        for match in re.finditer(r"\S+", segment):
            timed.append(
                CaptionWord(
                    match.group(),
                    char_start + match.start(),
                    char_start + match.end(),
                    start_s + match.start() * span_s,
                    start_s + match.end() * span_s,
                )
            )
    return CaptionSegment(text[char_start:char_end], char_start, char_end, start_s, end_s, tuple(timed))


@dataclass
class _Sequence:
    """One parked-or-running request of the batching mode: what it says and what it has rendered."""

    text: str
    segments: list[tuple[str, str]]
    f0: float
    options: SynthesisOptions
    rng: np.random.Generator
    index: int = 0
    ready: list[AudioChunk] = field(default_factory=list)
    samples_done: int = 0  # output samples rendered so far (caption times)
    cursor: int = 0  # where the next segment is looked for in ``text`` (caption offsets)


class FakeEngine(Engine):
    name = "fake"

    def __init__(self, config: EngineConfig) -> None:
        super().__init__(config)
        self.loaded = False
        self.asleep = False
        self.n_prepare = 0
        self.n_synth = 0
        self.n_warmups = 0
        self._flaky_seen: set[str] = set()
        self._frontend: Any = None
        self._parked: list[_Sequence] = []
        #: Batching mode: the number of sequences each :meth:`run_step` served, in order.
        self.step_sizes: list[int] = []
        #: Sequences released (finished, cancelled or closed) in batching mode.
        self.n_released = 0
        #: Texts in the order their synthesis started (both modes).
        self.started: list[str] = []
        #: Tests may set this: called at the start of every step with its batch size (e.g. to hold it).
        self.step_hook: Callable[[int], None] | None = None

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    def _option(self, name: str, default: float) -> float:
        return float(self.config.extra.get(name, default))

    def load(self, progress: ProgressCallback | None = None) -> None:
        if self.config.extra.get("fail_load"):
            raise CheckpointError(str(self.config.extra["fail_load"]))
        for step in range(4):
            time.sleep(self._option("load_delay_s", 0.0) / 4)
            if progress is not None:
                progress("weights", (step + 1) * 250, 1000)
        if self.config.extra.get("text_frontend"):
            from glmtts.text import FrontendConfig, TextFrontend

            self._frontend = TextFrontend(FrontendConfig(dictionary_path=self.config.dictionary_path))
            self._frontend.load()
        self.loaded = True

    def warmup(self) -> None:
        self.n_warmups += 1

    def capabilities(self) -> Capabilities:
        return Capabilities(
            seed=True,
            phoneme_mode=self._frontend is not None,
            speed_range=(1.0, 1.0) if self.config.extra.get("fixed_speed") else SPEED_LIMITS,
            sample_rates=(SAMPLE_RATE,),
            batching=self.batching,
            word_timestamps=bool(self.config.extra.get("word_timing")),
        )

    @property
    def batching(self) -> bool:
        return bool(self.config.extra.get("batching", False))

    def batch_limits(self) -> BatchLimits:
        if not self.batching:
            return BatchLimits()
        return BatchLimits(
            max_sequences=int(self.config.extra.get("max_batch", 4)),
            token_budget=int(self.config.extra.get("batch_token_budget", 2048)),
            kv_capacity_tokens=int(self.config.extra.get("kv_capacity_tokens", 16_384)),
        )

    @property
    def text_frontend(self) -> Any:
        return self._frontend

    def builtin_voices(self) -> tuple[str, ...]:
        return tuple(BUILTIN_F0)

    def builtin_voice(self, name: str | None = None) -> Voice:
        key = name or "fake_f"
        if key not in BUILTIN_F0:
            raise UnknownVoiceError(f"unknown voice {key!r}")
        return Voice(
            voice_id=key, engine=self.name, builtin=True, features={"f0": np.array([BUILTIN_F0[key]])}
        )

    def prepare_voice(self, samples: np.ndarray, sample_rate: int, prompt_text: str | None = None) -> Voice:
        time.sleep(self._option("prepare_delay_s", 0.0))
        self.n_prepare += 1
        mono = to_mono(samples)[: sample_rate * 2]
        spectrum = np.abs(np.fft.rfft(mono))
        peak_hz = float(np.argmax(spectrum[1:]) + 1) * sample_rate / (2 * (spectrum.size - 1))
        return Voice(
            voice_id="prompt", engine=self.name, prompt_text=prompt_text, features={"f0": np.array([peak_hz])}
        )

    def _segments(self, text: str, options: SynthesisOptions) -> list[tuple[str, str]]:
        """(segment text, what decides its extra tone: its phonemes with a frontend, else its text)."""
        if self._frontend is not None:
            result = self._frontend.analyze(text, phoneme=True, extra_entries=options.pronunciations)
            return [(s.text, s.phonemes or s.text) for s in result.segments]
        return [(s, "") for s in sentences(text)]

    def _check_failures(self, text: str, cancel: CancelToken | None) -> None:
        delay_s = self._option("delay_s", float(os.environ.get("FAKE_ENGINE_DELAY_S", 0.0)))
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

    def _start(
        self, text: str, voice: Voice, options: SynthesisOptions, cancel: CancelToken | None
    ) -> _Sequence:
        """Validate a request (raising before any audio) and set up its rendering state."""
        if not self.loaded or self.asleep:
            raise RuntimeError("fake engine used before load or while asleep")
        segments = self._segments(text, options)
        if not segments:
            raise NothingToSayError("text holds nothing speakable")
        self._check_failures(text, cancel)
        self.started.append(text)
        f0 = float(voice.features["f0"][0])
        return _Sequence(text, segments, f0, options, np.random.default_rng(options.seed))

    def stream(
        self, text: str, voice: Voice, options: SynthesisOptions, cancel: CancelToken | None = None
    ) -> Iterator[AudioChunk]:
        return self._chunks(self._start(text, voice, options, cancel), cancel)

    def _chunks(self, sequence: _Sequence, cancel: CancelToken | None) -> Iterator[AudioChunk]:
        while sequence.index < len(sequence.segments):
            if cancel is not None:
                cancel.raise_if_cancelled()
            time.sleep(self._option("segment_delay_s", 0.0))
            yield self._render(sequence)
        self._finished(sequence.text)

    def _render(self, sequence: _Sequence) -> AudioChunk:
        """The next chunk of ``sequence`` (the same whether it runs alone or in a batch)."""
        index = sequence.index
        segment, reading = sequence.segments[index]
        sequence.index += 1
        duration_s = max(0.2, SECONDS_PER_CHAR * len(segment)) / sequence.options.speed
        t = np.arange(int(duration_s * SAMPLE_RATE)) / SAMPLE_RATE
        wave = sum(np.sin(2 * np.pi * k * sequence.f0 * t) / k for k in range(1, 5))
        if reading:
            wave = wave + 0.2 * np.sin(2 * np.pi * (1000.0 + zlib.crc32(reading.encode()) % 2000) * t)
        samples = (0.2 * wave + 0.001 * sequence.rng.standard_normal(t.size)).astype(np.float32)
        is_last = index == len(sequence.segments) - 1
        captions: tuple[CaptionSegment, ...] = ()
        options = sequence.options
        if options.timestamps != "none":
            words = options.timestamps == "word" and self.capabilities().word_timestamps
            start_s = sequence.samples_done / SAMPLE_RATE
            end_s = (sequence.samples_done + t.size) / SAMPLE_RATE
            captions = (_caption(sequence.text, segment, sequence.cursor, start_s, end_s, words),)
            sequence.cursor = captions[0].char_end
        sequence.samples_done += t.size
        return AudioChunk(samples, SAMPLE_RATE, segment_index=index, is_last=is_last, captions=captions)

    def _finished(self, text: str) -> None:
        self.n_synth += 1
        log_path = self.config.extra.get("log_path", os.environ.get("FAKE_ENGINE_LOG"))
        if log_path:
            with open(str(log_path), "a", encoding="utf-8") as handle:
                handle.write(text.replace("\n", " ") + "\n")

    # -- batching mode -------------------------------------------------------------------------------
    def stream_steps(
        self, text: str, voice: Voice, options: SynthesisOptions, cancel: CancelToken | None = None
    ) -> Iterator[AudioChunk | StepPending]:
        """Park before each chunk; :meth:`run_step` renders it (batching mode; else :meth:`stream`)."""
        if not self.batching:
            yield from self.stream(text, voice, options, cancel)
            return
        sequence = self._start(text, voice, options, cancel)
        try:
            while sequence.index < len(sequence.segments) or sequence.ready:
                if not sequence.ready:
                    self._parked.append(sequence)
                    yield STEP_PENDING
                    continue
                yield sequence.ready.pop(0)
            self._finished(text)
        finally:
            if sequence in self._parked:
                self._parked.remove(sequence)
            self.n_released += 1

    def run_step(self) -> None:
        """Render the next chunk of up to ``max_batch`` parked sequences (the oldest first)."""
        limit = self.batch_limits().max_sequences
        batch, self._parked = self._parked[:limit], self._parked[limit:]
        if not batch:
            return
        if self.step_hook is not None:
            self.step_hook(len(batch))
        self.step_sizes.append(len(batch))
        time.sleep(self._option("step_delay_s", 0.0))
        for sequence in batch:
            sequence.ready.append(self._render(sequence))

    def release(self) -> int:
        return 4096

    def sleep(self) -> None:
        self.asleep = True

    def wake(self) -> None:
        self.asleep = False

    def memory_bytes(self) -> dict[str, int]:
        report = {"weights": 0 if self.asleep else 1_000_000}
        if self.batching:
            report["kv_cache"] = self.batch_limits().kv_capacity_tokens * KV_BYTES_PER_TOKEN
        return report
