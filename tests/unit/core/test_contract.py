"""The engine contract: option validation, registry, cancel tokens and stream draining."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from glmtts.engines.base import (
    AudioChunk,
    CancelToken,
    Engine,
    EngineConfig,
    ProgressCallback,
    SamplingOptions,
    SynthesisOptions,
    Voice,
)
from glmtts.engines.registry import create_engine, engine_class, engine_names, register_engine
from glmtts.errors import CancelledError, InvalidOptionError, UnknownEngineError


class _ChunkedEngine(Engine):
    """Yields one 0.1 s tone chunk per character, checking the cancel token between chunks."""

    name = "chunked-test"

    @property
    def sample_rate(self) -> int:
        return 8000

    def load(self, progress: ProgressCallback | None = None) -> None:
        if progress:
            progress("tone", 1, 1)

    def warmup(self) -> None:
        self.synthesize("ab", self.builtin_voice(), SynthesisOptions())

    def builtin_voices(self) -> tuple[str, ...]:
        return ("tone",)

    def builtin_voice(self, name: str | None = None) -> Voice:
        return Voice(voice_id="tone", engine=self.name, builtin=True)

    def prepare_voice(self, samples: np.ndarray, sample_rate: int, prompt_text: str | None = None) -> Voice:
        return Voice(voice_id="x", engine=self.name, features={"level": np.array([samples.std()])})

    def stream(
        self, text: str, voice: Voice, options: SynthesisOptions, cancel: CancelToken | None = None
    ) -> Iterator[AudioChunk]:
        t = np.arange(800) / 8000.0
        for index, _ in enumerate(text):
            if cancel is not None:
                cancel.raise_if_cancelled()
            yield AudioChunk(
                np.sin(2 * np.pi * 200 * t).astype(np.float32), 8000, index, index == len(text) - 1
            )


def test_options_validate_once_at_construction() -> None:
    assert SynthesisOptions().seed == 42
    for bad in ({"seed": -1}, {"seed": 2**32}, {"seed": True}, {"speed": 0.0}, {"speed": 9.0}):
        with pytest.raises(InvalidOptionError):
            SynthesisOptions(**bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError, match="choose one of"):
        SamplingOptions(strategy="beam")
    with pytest.raises(InvalidOptionError):
        SamplingOptions(top_p=0.0)
    with pytest.raises(InvalidOptionError):
        SynthesisOptions().replace(speed=100.0)
    assert SynthesisOptions().replace(seed=7).seed == 7


def test_synthesize_is_the_drained_stream_and_cancel_stops_it() -> None:
    engine = _ChunkedEngine(EngineConfig(name="chunked-test"))
    audio = engine.synthesize("abc", engine.builtin_voice(), SynthesisOptions())
    assert audio.dtype == np.float32 and audio.size == 3 * 800
    token = CancelToken()
    stream = engine.stream("abcdef", engine.builtin_voice(), SynthesisOptions(), token)
    next(stream)
    token.cancel()
    with pytest.raises(CancelledError):
        next(stream)
    assert engine.info().builtin_voices == ("tone",)


def test_registry_builds_registered_engines_and_rejects_unknown() -> None:
    assert {"kokoro", "glm"} <= set(engine_names())
    register_engine("chunked-test", f"{__name__}:_ChunkedEngine")
    engine = create_engine(EngineConfig(name="chunked-test"))
    assert isinstance(engine, _ChunkedEngine)
    with pytest.raises(UnknownEngineError, match="kokoro"):
        engine_class("nope")
