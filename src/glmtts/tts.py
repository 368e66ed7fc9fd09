"""The public Python API: a loaded engine in this process, no server needed.

    import glmtts

    tts = glmtts.load("kokoro")
    audio = tts.synthesize("今天天气很好。", voice="jm_kumo")
    audio.save("out.wav")                       # or audio.encode("mp3"), audio.samples, audio.sample_rate
    for chunk in tts.stream("First. Second."):  # AudioChunk objects as they are made
        ...
    tts.close()                                 # or use ``with glmtts.load(...) as tts:``

It runs the same request type, decoder, service, worker and voice subsystem as ``glmtts serve``, so the
same text, voice, seed and options give the same audio here as over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from glmtts.audio import AudioChunk, AudioFormat
from glmtts.engines.base import EngineInfo
from glmtts.synthesis import Runtime, RuntimeConfig, Synthesis, SynthesisRequest, engine_config, open_runtime
from glmtts.voices import PromptClip

PromptInput = str | Path | tuple[np.ndarray, int]


class TTS:
    """One engine loaded in this process; see the module docstring."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    @property
    def info(self) -> EngineInfo:
        """The engine's name, sample rate, built-in voices and capabilities."""
        info = self._runtime.host.info
        assert info is not None
        return info

    @property
    def sample_rate(self) -> int:
        return self.info.sample_rate

    def request(
        self,
        text: str,
        *,
        voice: str | None = None,
        prompt: PromptInput | None = None,
        prompt_text: str | None = None,
        stream: bool = False,
        **options: Any,
    ) -> SynthesisRequest:
        """The request for these arguments (``options``: ``seed``, ``speed``, ``phoneme``, sampling…)."""
        decoder = self._runtime.decoder
        clip = self._clip(prompt, prompt_text) if prompt is not None else None
        return decoder.decode(
            {**options, "text": text, "voice": voice}, clip=clip, stream=stream, route="python"
        )

    def _clip(self, prompt: PromptInput, prompt_text: str | None) -> PromptClip:
        if isinstance(prompt, tuple):
            samples, sample_rate = prompt
            return PromptClip.of(samples, sample_rate, prompt_text, self._runtime.decoder.limits.prompt)
        return self._runtime.decoder.prompt_file(prompt, prompt_text)

    def synthesize(self, text: str, **kwargs: Any) -> Synthesis:
        """The whole utterance (see :meth:`request` for the arguments)."""
        return self._runtime.service.run(self.request(text, **kwargs)).collect()

    def stream(self, text: str, **kwargs: Any) -> Iterator[AudioChunk]:
        """Audio chunks as soon as the engine makes them."""
        return self._runtime.service.run(self.request(text, stream=True, **kwargs)).chunks()

    def close(self) -> None:
        self._runtime.close()

    def __enter__(self) -> TTS:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def load(
    engine: str = "kokoro",
    *,
    ckpt: str | Path | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    n_threads: int = 2,
    voices_dir: str | Path | None = None,
    **engine_options: Any,
) -> TTS:
    """Load ``engine`` in this process (``voices_dir``: a voices library, e.g. ``glmtts-data/voices``)."""
    config = engine_config(
        engine,
        ckpt=Path(ckpt) if ckpt is not None else None,
        device=device,
        dtype=dtype,
        n_threads=n_threads,
        options=engine_options,
    )
    runtime_config = RuntimeConfig(voices_dir=Path(voices_dir) if voices_dir else None, log_requests=False)
    return TTS(open_runtime(config, runtime_config))


__all__ = ["TTS", "AudioFormat", "Synthesis", "load"]
