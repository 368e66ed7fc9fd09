"""The engine contract every TTS engine implements: load · warmup · prepare_voice · stream · release.

An engine is constructed from a plain :class:`EngineConfig` (no globals, no environment reads), so it can
be built inside any process (CLI, server worker thread, a Ray actor). One thread owns an engine; engines
are not required to be thread-safe.

Audio is mono float32 in [-1, 1] at ``engine.sample_rate``. ``stream`` yields :class:`AudioChunk` objects
as soon as they exist; :meth:`Engine.synthesize` just concatenates the stream. What an engine supports is
declared in :class:`Capabilities` (``engine.info().capabilities``); callers read that, never the name.

An engine owns the one text frontend of its process (:attr:`Engine.text_frontend`): callers describe text
with :meth:`Engine.describe_text` and change the live pronunciation dictionary with
:meth:`Engine.set_pronunciations`, both on the model thread.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from glmtts.audio.chunk import AudioChunk
from glmtts.audio.signal import MAX_PROMPT_S, MIN_PROMPT_S
from glmtts.engines.batching import BatchLimits, StepPending
from glmtts.errors import CancelledError, InvalidOptionError

if TYPE_CHECKING:
    from glmtts.text import FrontendResult, PronunciationDictionary, TextFrontend

__all__ = [
    "DEFAULT_SEED",
    "AudioChunk",
    "CancelToken",
    "Capabilities",
    "Engine",
    "EngineConfig",
    "EngineInfo",
    "SamplingOptions",
    "StreamingGranularity",
    "SynthesisOptions",
    "Voice",
]

#: The seed a request gets when it names none (settings and flags override it; this is the one literal).
DEFAULT_SEED = 42
#: Speaking rates :class:`SynthesisOptions` accepts at all; an engine declares its own range.
SPEED_LIMITS = (0.25, 4.0)

#: Callback reporting load progress: (component name, bytes loaded so far, total bytes or 0).
ProgressCallback = Callable[[str, int, int], None]

SAMPLING_STRATEGIES = ("ras", "topk", "topp", "greedy")
#: Caption timing levels (:attr:`SynthesisOptions.timestamps`); audio never depends on the level.
TIMESTAMP_LEVELS = ("none", "segment", "word")


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
    pairs in the upstream ``G2P_replace_dict.jsonl`` sense (the live dictionary of the process applies to
    every request anyway). ``stream`` is True only when the caller consumes the audio incrementally (an
    HTTP ``stream=true`` response, the UI's streamed playback, ``synth --stream``); an engine may pick a
    different path for whole files (the glm engine's one-shot path). ``instructions`` is OpenAI's free-text
    style hint; engines whose capabilities say ``instructions=False`` ignore it.
    """

    seed: int = DEFAULT_SEED
    speed: float = 1.0
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    phoneme: bool = False
    use_cache: bool = True
    pronunciations: tuple[tuple[str, str], ...] = ()
    max_chars: int = 20_000
    stream: bool = False  # audio while synthesis runs (an engine may then render differently)
    instructions: str | None = None
    timestamps: str = "segment"  # caption timing on the chunks: "none" | "segment" | "word"

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise InvalidOptionError("seed must be an integer in [0, 2**32)")
        if not SPEED_LIMITS[0] <= self.speed <= SPEED_LIMITS[1]:
            raise InvalidOptionError(f"speed must be in [{SPEED_LIMITS[0]}, {SPEED_LIMITS[1]}]")
        if self.timestamps not in TIMESTAMP_LEVELS:
            raise InvalidOptionError(f"timestamps must be one of {', '.join(TIMESTAMP_LEVELS)}")

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


class StreamingGranularity(str, enum.Enum):
    """How often an engine's stream yields audio."""

    SENTENCE = "sentence"  # one chunk per sentence / text segment
    BLOCK = "block"  # several chunks per segment (blocks of speech tokens)
    WHOLE = "whole"  # one chunk for the whole text


@dataclass(frozen=True)
class Capabilities:
    """What an engine supports; front ends show and accept exactly this, and never test the engine's name.

    ``sampling``: honours :class:`SamplingOptions`. ``seed``: the output depends on ``options.seed``
    (False: deterministic regardless). ``phoneme_mode``: honours ``options.phoneme``. ``speed_range``:
    the speaking rates it accepts (``(1.0, 1.0)``: none but normal). ``sample_rates``: the output rates it
    can produce (the first is the default). ``batching``: it can synthesize several requests at once.
    ``prompt_seconds``: the prompt clip lengths it is made for. ``uses_transcript``: a prompt's
    transcript changes the result. ``instructions``: it follows OpenAI's free-text ``instructions``.
    ``word_timestamps``: its chunks carry word timings (characters for Chinese) when asked; every engine
    carries segment timings (:class:`~glmtts.audio.chunk.CaptionSegment`).
    """

    sampling: bool = False
    seed: bool = False
    phoneme_mode: bool = False
    streaming: StreamingGranularity = StreamingGranularity.SENTENCE
    speed_range: tuple[float, float] = (1.0, 1.0)
    sample_rates: tuple[int, ...] = ()
    batching: bool = False
    prompt_seconds: tuple[float, float] = (MIN_PROMPT_S, MAX_PROMPT_S)
    uses_transcript: bool = False
    instructions: bool = False
    word_timestamps: bool = False

    def supports_speed(self, speed: float) -> bool:
        return self.speed_range[0] <= speed <= self.speed_range[1]

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["streaming"] = self.streaming.value
        return data


@dataclass(frozen=True)
class EngineInfo:
    name: str
    sample_rate: int
    device: str
    dtype: str
    builtin_voices: tuple[str, ...]
    details: Mapping[str, Any] = field(default_factory=dict)
    capabilities: Capabilities = field(default_factory=Capabilities)


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
        self._base_dictionary: PronunciationDictionary | None = None

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
        """Turn a prompt clip into the features of a :class:`Voice` (no caching, no re-validation).

        ``samples`` is float32 as decoded: ``[n]`` or ``[n, channels]`` (an engine takes the channel it
        needs or mixes to mono itself). The clip was already validated against the configured limits and
        hashed by the voice subsystem (:mod:`glmtts.voices`), which also caches the result and replaces
        the returned ``voice_id`` with the clip's content id.
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

    # -- batching (engines whose capabilities say ``batching=True``) ---------------------------------
    def stream_steps(
        self,
        text: str,
        voice: Voice,
        options: SynthesisOptions,
        cancel: CancelToken | None = None,
    ) -> Iterator[AudioChunk | StepPending]:
        """The cooperative form of :meth:`stream`: yields :data:`STEP_PENDING` while parked on a batched step.

        Many such generators are driven together by one thread: when every live one is parked, the driver
        calls :meth:`run_step`, which runs their pending work (prefill, one decode step, ready vocoder work)
        as one batch. Closing a generator (``close()``, on cancel or timeout) releases its sequence's slot
        without disturbing the others. Engines without batching never park: this is :meth:`stream`.
        """
        yield from self.stream(text, voice, options, cancel)

    def run_step(self) -> None:  # noqa: B027 - optional hook
        """Run one batched step for every parked sequence (no-op for engines without batching)."""

    def batch_limits(self) -> BatchLimits:
        """The per-step limits of a batching engine (``max_sequences=1`` for engines without batching)."""
        return BatchLimits()

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

    def capabilities(self) -> Capabilities:
        """What this engine supports (the conservative default: no sampling, seed, phonemes or speed)."""
        return Capabilities(sample_rates=(self.sample_rate,))

    def info(self) -> EngineInfo:
        return EngineInfo(
            name=self.name,
            sample_rate=self.sample_rate,
            device=self.config.device,
            dtype=self.config.dtype,
            builtin_voices=self.builtin_voices(),
            details=self.details(),
            capabilities=self.capabilities(),
        )

    def details(self) -> dict[str, Any]:
        """Engine-specific facts for ``/v1/status`` (e.g. per-component dtypes)."""
        return {}

    # -- text ----------------------------------------------------------------------------------------
    @property
    def text_frontend(self) -> TextFrontend | None:
        """The engine's text frontend once loaded (the one of the process), or None for engines without."""
        return None

    def describe_text(self, text: str, phoneme: bool = False) -> FrontendResult:
        """How this engine reads ``text``: normalized form, segments, pinyin (and phonemes in phoneme mode).

        Engines without a text frontend read the text as it is: one segment, whitespace collapsed.
        """
        from glmtts.text import FrontendResult, Segment

        frontend = self.text_frontend
        if frontend is not None:
            return frontend.analyze(text, phoneme=phoneme)
        normalized = " ".join(text.split())
        segment = Segment(text=normalized, tokens=(), pinyin="", phonemes=normalized if phoneme else None)
        return FrontendResult(original=text, normalized=normalized, segments=(segment,) if normalized else ())

    def set_pronunciations(self, entries: Sequence[tuple[str, str]]) -> None:
        """Make ``entries`` the live additions to the dictionary the frontend loaded (replacing earlier ones).

        The loaded dictionary (``EngineConfig.dictionary_path``, else ``configs/G2P_replace_dict.jsonl`` of
        the working directory at start, else the packaged default) stays the base; an entry removed here is
        gone from the next request on.
        """
        frontend = self.text_frontend
        if frontend is None:
            return
        if self._base_dictionary is None:
            self._base_dictionary = frontend.dictionary
        frontend.set_dictionary(self._base_dictionary.merged(tuple(entries)))

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
