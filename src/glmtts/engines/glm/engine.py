"""The ``glm`` engine: GLM-TTS zero-shot voice cloning behind the common :class:`Engine` contract.

Build it with ``EngineConfig(name="glm", ckpt_dir=DIR, device=..., dtype=...)``. ``DIR`` is the official
checkpoint (``huggingface-cli download zai-org/GLM-TTS --local-dir DIR`` plus ``campplus.onnx``) or a tiny
one from ``python -m tests.support.glm.make_tiny DIR``. ``EngineConfig.dtype`` is the LLM's precision;
``EngineConfig.extra`` may hold ``flow_dtype`` / ``hift_dtype`` (default ``"float32"``; the speech
tokenizer is always float32), ``sample_rate`` (only 24000, the HiFT vocoder, is supported) and
``min_token_ratio`` / ``max_token_ratio`` (speech tokens per target text token, upstream 2 and 20), and
the batching settings ``max_batch`` (default 8; 1 is serial), ``batch_token_budget`` (2048),
``kv_capacity_tokens`` (16384, preallocated at load), ``kv_block_tokens`` (16) and ``static_decode_shapes``
(see :func:`glmtts.engines.glm.pipeline.build_scheduler`).
``llm_quant`` (``none | int8 | int4``: torchao weight-only quantization of the LLM's linear layers, see
:mod:`~glmtts.engines.glm.quantize`; the quantized weights are cached under ``EngineConfig.cache_dir``).
:meth:`GlmEngine.details` reports the component dtypes in ``details["dtypes"]``, the quantization in
``details["llm_quant"]`` / ``details["quantization"]`` and the weight bytes per component before and after
quantization in ``details["weights_bytes"]``.

``SynthesisOptions.stream`` picks the output path: ``False`` (default) is upstream's one-shot synthesis
(one flow and one HiFT pass per segment, one chunk per segment); ``True`` streams block by block while the
LLM decodes (see :mod:`glmtts.engines.glm.synthesis`). Both draw the same speech tokens for a seed.

:meth:`GlmEngine.load` loads every component eagerly (text tokenizer, LLM, speech tokenizer, speaker
encoder, prompt-mel extractor, flow + vocoder, text frontend). :meth:`GlmEngine.warmup` runs a short
synthesis with a freshly prepared synthetic voice. :meth:`GlmEngine.prepare_voice` only computes
features: validating and caching prompt clips is the voice subsystem's job.

Built-in voice: ``default`` exists when the checkpoint directory holds ``default_prompt.wav`` (and
optionally ``default_prompt.txt`` with its transcript); tiny checkpoints get a synthetic one. The official
checkpoint ships no prompt clip (upstream's examples are CC BY-NC), so there :meth:`builtin_voice` raises
:class:`UnknownVoiceError` and callers pass a prompt clip; drop a ``default_prompt.wav`` into the
checkpoint directory to get a default voice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glmtts.engines.base import (
    AudioChunk,
    CancelToken,
    Capabilities,
    Engine,
    EngineConfig,
    ProgressCallback,
    StreamingGranularity,
    SynthesisOptions,
    Voice,
)
from glmtts.engines.batching import BatchLimits, StepPending, drive_steps
from glmtts.engines.glm.checkpoint import (
    CheckpointLayout,
    discover_layout,
    file_bytes,
    resolve_device,
)
from glmtts.errors import InvalidOptionError, NotReadyError, UnknownVoiceError

if TYPE_CHECKING:
    from glmtts.engines.glm.pipeline import GlmPipeline
    from glmtts.engines.glm.scheduler import StepScheduler
    from glmtts.engines.glm.voice import VoiceEncoder
    from glmtts.text import TextFrontend

_LOGGER = logging.getLogger(__name__)

DEFAULT_VOICE = "default"
SUPPORTED_SAMPLE_RATES = (24000,)


class GlmEngine(Engine):
    """GLM-TTS: LLM speech tokens -> flow DiT mel -> HiFT waveform (one-shot, or block by block streamed)."""

    name = "glm"

    def __init__(self, config: EngineConfig) -> None:
        super().__init__(config)
        rate = config.extra.get("sample_rate", 24000)
        if rate not in SUPPORTED_SAMPLE_RATES:
            raise InvalidOptionError(
                f"unsupported sample rate {rate} Hz for the glm engine; supported: 24000 (HiFT). "
                "The 32 kHz Vocos2D vocoder is not supported yet"
            )
        self._sample_rate = int(rate)
        from glmtts.engines.glm.quantize import parse_quant_mode

        self._llm_quant = parse_quant_mode(config.extra.get("llm_quant"))
        self._layout: CheckpointLayout | None = None
        self._pipeline: GlmPipeline | None = None
        self._voices: VoiceEncoder | None = None
        self._builtin: Voice | None = None
        self._dtypes: dict[str, str] | None = None

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    def load(self, progress: ProgressCallback | None = None) -> None:
        """Load every component on ``config.device`` in ``config.dtype``."""
        started = time.perf_counter()
        layout = discover_layout(self.config.ckpt_dir)
        device = resolve_device(self.config.device)
        _set_threads(self.config.n_threads)
        report = _ProgressReporter(layout, progress)
        from glmtts.engines.glm.pipeline import load_components

        components = load_components(layout, device, self.config, self._sample_rate, report)
        self._pipeline, self._voices = components.pipeline, components.voices
        self._dtypes = dict(components.dtypes)
        self._layout = layout
        self._builtin = None
        _LOGGER.info(
            "glm engine loaded from %s on %s (%s) in %.1f s",
            layout.root,
            device,
            ", ".join(f"{name} {dtype}" for name, dtype in self._dtypes.items()),
            time.perf_counter() - started,
        )

    def warmup(self) -> None:
        """Prepare a synthetic voice and synthesize a short sentence through every stage."""
        from glmtts.engines.glm.voice import synthetic_prompt

        started = time.perf_counter()
        voice = self.prepare_voice(synthetic_prompt(self._sample_rate), self._sample_rate, "你好。")
        n_samples = sum(
            chunk.samples.size for chunk in self.stream("你好，欢迎。", voice, SynthesisOptions(seed=0))
        )
        _LOGGER.info("glm warm-up: %d samples in %.2f s", n_samples, time.perf_counter() - started)

    def capabilities(self) -> Capabilities:
        """Seeded sampling, phoneme mode, block streaming, 24 kHz, no speed control; uses the transcript;
        batching (continuous batching of the LLM, see :mod:`glmtts.engines.glm.scheduler`).

        OpenAI ``instructions`` are ignored (GLM-TTS takes its style from the prompt clip).
        """
        return Capabilities(
            sampling=True,
            seed=True,
            phoneme_mode=True,
            streaming=StreamingGranularity.BLOCK,
            sample_rates=SUPPORTED_SAMPLE_RATES,
            uses_transcript=True,
            batching=True,
        )

    @property
    def text_frontend(self) -> TextFrontend | None:
        return self._pipeline.frontend if self._pipeline is not None else None

    def builtin_voices(self) -> tuple[str, ...]:
        layout = self._layout or _quiet_layout(self.config.ckpt_dir)
        return (DEFAULT_VOICE,) if layout is not None and layout.default_prompt_wav is not None else ()

    def builtin_voice(self, name: str | None = None) -> Voice:
        """The ``default`` voice made from the checkpoint's ``default_prompt.wav`` (see the module docstring)."""
        layout = self._require_layout()
        if name not in (None, DEFAULT_VOICE) or layout.default_prompt_wav is None:
            available = ", ".join(self.builtin_voices()) or "none: pass a prompt clip"
            raise UnknownVoiceError(
                f"unknown glm voice {name or DEFAULT_VOICE!r} (built-in voices: {available})"
            )
        if self._builtin is None:
            from glmtts.audio import read_audio, validate_prompt

            samples, rate = read_audio(layout.default_prompt_wav)
            validate_prompt(samples, rate)
            text_path = layout.default_prompt_text
            text = text_path.read_text(encoding="utf-8").strip() if text_path is not None else None
            prepared = self.prepare_voice(samples, rate, text)
            self._builtin = Voice(DEFAULT_VOICE, self.name, text, builtin=True, features=prepared.features)
        return self._builtin

    def prepare_voice(self, samples: np.ndarray, sample_rate: int, prompt_text: str | None = None) -> Voice:
        """Voice features of a ``[n]`` or ``[n, channels]`` prompt clip (validated by the caller)."""
        from glmtts.audio import audio_content_hash

        features = self._require_voices().encode(samples, sample_rate, prompt_text)
        digest = audio_content_hash(samples, sample_rate, prompt_text)
        return Voice(
            f"glm-{digest[:16]}", self.name, prompt_text, builtin=False, features=features.to_arrays()
        )

    def stream(
        self,
        text: str,
        voice: Voice,
        options: SynthesisOptions,
        cancel: CancelToken | None = None,
    ) -> Iterator[AudioChunk]:
        """Yield audio: one chunk per segment, or (``options.stream``) each block as soon as it is sound.

        This is :meth:`stream_steps` run alone (a batch of one), so both take the same path.
        """
        return drive_steps(self, self.stream_steps(text, voice, options, cancel))

    def stream_steps(
        self,
        text: str,
        voice: Voice,
        options: SynthesisOptions,
        cancel: CancelToken | None = None,
    ) -> Iterator[AudioChunk | StepPending]:
        """:meth:`stream` as a cooperative generator parked (``STEP_PENDING``) between batched LLM steps.

        Inputs are checked and the text analyzed when called; closing the generator frees its KV blocks.
        """
        from glmtts.engines.glm.voice import VoiceFeatures

        pipeline = self._require_pipeline()
        if voice.engine != self.name:
            raise UnknownVoiceError(f"voice {voice.voice_id!r} belongs to engine {voice.engine!r}, not glm")
        if options.speed != 1.0:
            raise InvalidOptionError("the glm engine does not support speed control; use speed 1.0")
        if len(text) > options.max_chars:
            from glmtts.errors import TextTooLongError

            raise TextTooLongError(
                f"text has {len(text)} characters; at most {options.max_chars} are accepted"
            )
        features = VoiceFeatures.from_arrays(voice.features, self._sample_rate)
        return pipeline.stream_steps(text, features, options, cancel)

    def run_step(self) -> None:
        """One batched LLM step for every parked sequence (see :mod:`glmtts.engines.glm.scheduler`)."""
        self._require_pipeline().synthesizer.scheduler.run_step()

    def batch_limits(self) -> BatchLimits:
        """``max_batch`` / ``batch_token_budget`` / ``kv_capacity_tokens`` of ``EngineConfig.extra``."""
        from glmtts.engines.glm.pipeline import batch_limits

        if self._pipeline is not None:
            return self._pipeline.synthesizer.scheduler.limits
        return batch_limits(self.config)

    def release(self) -> int:
        freed = 0
        if self._builtin is not None:
            freed = sum(array.nbytes for array in self._builtin.features.values())
        self._builtin = None
        return freed

    def details(self) -> dict[str, Any]:
        """``dtypes`` per component; ``llm_quant`` and ``quantization`` (how the LLM was quantized and loaded);
        ``weights_bytes``: ``{"before_quantization": {component: bytes}, "after_quantization": {...}}``."""
        from glmtts.engines.glm.pipeline import component_dtypes

        dtypes = self._dtypes if self._dtypes is not None else component_dtypes(self.config)
        report = self._pipeline.synthesizer.lm.quantization if self._pipeline is not None else None
        after = self.memory_bytes()
        before = dict(after)
        if report is not None and "llm" in before:
            before["llm"] = report.bytes_before
        details: dict[str, Any] = {
            "dtypes": dict(dtypes),
            "llm_quant": self._llm_quant,
            "quantization": report.to_json() if report is not None else None,
            "weights_bytes": {"before_quantization": before, "after_quantization": after} if after else {},
        }
        if self._pipeline is not None:
            details["batch"] = _batch_details(self._pipeline.synthesizer.scheduler)
        return details

    def memory_bytes(self) -> dict[str, int]:
        """Resident bytes of each component's weights (quantized weights count their int data and scales)."""
        from glmtts.engines.glm.quantize import module_bytes

        pipeline = self._pipeline
        if pipeline is None:
            return {}
        synthesizer = pipeline.synthesizer
        return {
            "llm": module_bytes(synthesizer.lm.model),
            "flow": module_bytes(synthesizer.token2wav.flow.dit),
            "vocoder": module_bytes(synthesizer.token2wav.vocoder.model),
            "kv_cache": synthesizer.scheduler.cache.nbytes,
        }

    def _require_pipeline(self) -> GlmPipeline:
        if self._pipeline is None:
            raise NotReadyError("the glm engine is not loaded; call load() first")
        return self._pipeline

    def _require_voices(self) -> VoiceEncoder:
        if self._voices is None:
            raise NotReadyError("the glm engine is not loaded; call load() first")
        return self._voices

    def _require_layout(self) -> CheckpointLayout:
        if self._layout is None:
            raise NotReadyError("the glm engine is not loaded; call load() first")
        return self._layout


class _ProgressReporter:
    """Calls the load progress callback with bytes read so far, per component."""

    def __init__(self, layout: CheckpointLayout, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.done = 0
        self.total = file_bytes(layout.root.rglob("*")) + file_bytes([layout.campplus_path])

    def __call__(self, component: str, paths: list[Path]) -> None:
        self.done += file_bytes(paths)
        if self.callback is not None:
            self.callback(component, min(self.done, self.total), self.total)


def _quiet_layout(ckpt_dir: Path | None) -> CheckpointLayout | None:
    from glmtts.errors import CheckpointError

    try:
        return discover_layout(ckpt_dir)
    except CheckpointError:
        return None


def _set_threads(n_threads: int) -> None:
    import torch

    if n_threads > 0 and torch.get_num_threads() != n_threads:
        torch.set_num_threads(n_threads)


def _batch_details(scheduler: StepScheduler) -> dict[str, Any]:
    """Batch limits, KV-cache size and use, and step counters for ``/v1/status``."""
    limits, cache, stats = scheduler.limits, scheduler.cache, scheduler.stats
    return {
        "max_batch": limits.max_sequences,
        "token_budget": limits.token_budget,
        "kv_capacity_tokens": cache.capacity_tokens,
        "kv_block_tokens": cache.block_tokens,
        "kv_cache_bytes": cache.nbytes,
        "kv_used_tokens": cache.used_tokens,
        "sequences_running": len(scheduler.running),
        "sequences_waiting": len(scheduler.waiting),
        "steps": stats.n_steps,
        "tokens": stats.n_tokens,
        "last_batch": stats.last_batch,
    }
