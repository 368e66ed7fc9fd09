"""The engine contract every TTS engine implements: load · warmup · prepare_voice · stream · release.

An engine is constructed from a plain :class:`EngineConfig` (no globals, no environment reads), so it can
be built inside any process (CLI, server worker thread, a Ray actor). One thread owns an engine; engines
are not required to be thread-safe.

Audio is mono float32 in [-1, 1] at ``engine.sample_rate``. ``stream`` yields :class:`AudioChunk` objects
as soon as they exist; :meth:`Engine.synthesize` just concatenates the stream.
"""

from __future__ import annotations

import abc
import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from glmtts.errors import CancelledError, InvalidOptionError

#: Callback reporting load progress: (component name, bytes loaded so far, total bytes or 0).
ProgressCallback = Callable[[str, int, int], None]

SAMPLING_STRATEGIES = ("ras", "topk", "topp", "greedy")


@dataclass(frozen=True)
class SamplingOptions:
    """Token sampling knobs for engines with an autoregressive model (ignored by others)."""

    strategy: str = "ras"
    temperature: float = 1.0
    top_k: int = 25
    top_p: float = 0.8
    ras_window: int = 10
    ras_tau: float = 0.1

    def __post_init__(self) -> None:
        if self.strategy not in SAMPLING_STRATEGIES:
            raise InvalidOptionError(
                f"unknown sampling strategy {self.strategy!r}; choose one of {', '.join(SAMPLING_STRATEGIES)}"
            )
        if not 0.0 < self.temperature <= 5.0:
            raise InvalidOptionError("temperature must be in (0, 5]")
        if not 1 <= self.top_k <= 100_000:
            raise InvalidOptionError("top_k must be in [1, 100000]")
        if not 0.0 < self.top_p <= 1.0:
            raise InvalidOptionError("top_p must be in (0, 1]")
        if not 1 <= self.ras_window <= 1000 or not 0.0 <= self.ras_tau <= 1.0:
            raise InvalidOptionError("ras_window must be in [1, 1000] and ras_tau in [0, 1]")


@dataclass(frozen=True)
class SynthesisOptions:
    """Per-request options, validated once at construction.

    ``pronunciations`` holds extra dictionary entries for this request only, as ``(source, replacement)``
    pairs in the upstream ``G2P_replace_dict.jsonl`` sense.
    """

    seed: int = 42
    speed: float = 1.0
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    phoneme: bool = False
    use_cache: bool = True
    pronunciations: tuple[tuple[str, str], ...] = ()
    max_chars: int = 20_000
    stream: bool = False  # audio while synthesis runs (an engine may then render differently)

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise InvalidOptionError("seed must be an integer in [0, 2**32)")
        if not 0.25 <= self.speed <= 4.0:
            raise InvalidOptionError("speed must be in [0.25, 4.0]")

    def replace(self, **changes: Any) -> SynthesisOptions:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class EngineConfig:
    """Everything needed to build an engine; model-intrinsic sizes come from the checkpoint itself."""

    name: str = "kokoro"
    ckpt_dir: Path | None = None
    device: str = "cpu"
    dtype: str = "float32"
    n_threads: int = 2
    cache_dir: Path | None = None
    dictionary_path: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Voice:
    """A speaker identity an engine can synthesize with.

    ``features`` holds engine-specific numpy arrays (style vectors, speech tokens, embeddings…) so a voice
    can be persisted with ``numpy.savez`` and loaded without executing code.
    """

    voice_id: str
    engine: str
    prompt_text: str | None = None
    builtin: bool = False
    features: Mapping[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class AudioChunk:
    """One piece of synthesized audio, mono float32 in [-1, 1]."""

    samples: np.ndarray
    sample_rate: int
    segment_index: int = 0
    is_last: bool = False

    @property
    def duration_s(self) -> float:
        return float(len(self.samples)) / float(self.sample_rate)


@dataclass(frozen=True)
class EngineInfo:
    name: str
    sample_rate: int
    device: str
    dtype: str
    builtin_voices: tuple[str, ...]
    details: Mapping[str, Any] = field(default_factory=dict)


class CancelToken:
    """Set by a caller (e.g. on client disconnect) to stop a running synthesis between chunks."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise CancelledError("synthesis was cancelled")


class Engine(abc.ABC):
    """Base class of TTS engines. Subclasses set ``name`` and implement the abstract methods."""

    name: ClassVar[str] = ""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config

    @property
    @abc.abstractmethod
    def sample_rate(self) -> int:
        """Output sample rate in Hz."""

    @abc.abstractmethod
    def load(self, progress: ProgressCallback | None = None) -> None:
        """Load every model this engine needs (nothing may be loaded lazily later)."""

    @abc.abstractmethod
    def warmup(self) -> None:
        """Exercise every code path a request can hit so the first request is as fast as any."""

    @abc.abstractmethod
    def builtin_voices(self) -> tuple[str, ...]:
        """Names of the voices that ship with the engine; the first is the default."""

    @abc.abstractmethod
    def builtin_voice(self, name: str | None = None) -> Voice:
        """Return a built-in voice (the default one when ``name`` is None)."""

    @abc.abstractmethod
    def prepare_voice(self, samples: np.ndarray, sample_rate: int, prompt_text: str | None = None) -> Voice:
        """Turn a prompt clip (mono float32) into a reusable :class:`Voice`.

        Raises :class:`~glmtts.errors.InvalidAudioError` for silent, too short or too long clips.
        """

    @abc.abstractmethod
    def stream(
        self,
        text: str,
        voice: Voice,
        options: SynthesisOptions,
        cancel: CancelToken | None = None,
    ) -> Iterator[AudioChunk]:
        """Synthesize ``text`` and yield audio chunks as they are produced."""

    def release(self) -> int:
        """Free caches that can be rebuilt; return the number of bytes freed (best effort)."""
        return 0

    def sleep(self) -> None:  # noqa: B027 - optional hook
        """Park weights in host memory and free device memory (no-op for CPU-only engines)."""

    def wake(self) -> None:  # noqa: B027 - optional hook
        """Undo :meth:`sleep`."""

    def memory_bytes(self) -> dict[str, int]:
        """Approximate memory held by the engine, by component."""
        return {}

    def info(self) -> EngineInfo:
        return EngineInfo(
            name=self.name,
            sample_rate=self.sample_rate,
            device=self.config.device,
            dtype=self.config.dtype,
            builtin_voices=self.builtin_voices(),
        )

    def synthesize(
        self,
        text: str,
        voice: Voice,
        options: SynthesisOptions,
        cancel: CancelToken | None = None,
    ) -> np.ndarray:
        """Synthesize the whole text; the concatenation of :meth:`stream`."""
        chunks = [chunk.samples for chunk in self.stream(text, voice, options, cancel)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)
