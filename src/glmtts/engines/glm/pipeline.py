"""Text -> audio for one voice: text frontend and tokenizer in front of the segment synthesizer; loading.

:class:`GlmPipeline` normalizes and splits the text (:class:`~glmtts.text.TextFrontend`), tokenizes each
segment (phoneme text when requested) and hands the ids to
:class:`~glmtts.engines.glm.synthesis.SegmentSynthesizer`, which seeds, prompts the LLM with the prompt
history and renders audio one-shot or streamed (``SynthesisOptions.stream``).

:func:`load_components` loads every stage. Precision per component: the LLM runs in ``EngineConfig.dtype``;
``EngineConfig.extra["llm_quant"]`` (``none | int8 | int4``) quantizes its linear layers with torchao
and runs it in bfloat16 instead of float32 (:mod:`~glmtts.engines.glm.quantize`); the speech tokenizer
always in float32 (its nearest-code argmin flips codes in half precision); the flow
and HiFT in ``EngineConfig.extra["flow_dtype"]`` / ``["hift_dtype"]``, float32 by default (a
half-precision flow is reported to hiss on H20/H100).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from glmtts.engines.base import AudioChunk, CancelToken, SynthesisOptions
from glmtts.engines.batching import BatchLimits, StepPending
from glmtts.engines.captions import TextSpan
from glmtts.engines.glm.llm import LengthLimits
from glmtts.engines.glm.synthesis import SegmentSynthesizer, SynthesisSettings
from glmtts.engines.glm.voice import prompt_text_ids
from glmtts.errors import NothingToSayError

if TYPE_CHECKING:
    import torch

    from glmtts.engines.base import EngineConfig
    from glmtts.engines.glm.checkpoint import CheckpointLayout
    from glmtts.engines.glm.llm import SpecialTokenIds, SpeechTokenLM
    from glmtts.engines.glm.scheduler import StepScheduler
    from glmtts.engines.glm.tokenizer import TextTokenizer
    from glmtts.engines.glm.voice import VoiceEncoder, VoiceFeatures
    from glmtts.text import TextFrontend

#: Batching settings: ``EngineConfig.extra`` key and default (see :func:`batch_limits`).
BATCH_SETTINGS = {"max_batch": 8, "batch_token_budget": 2048, "kv_capacity_tokens": 16_384}

#: Component precision settings: ``EngineConfig.extra`` key and default per component (the LLM follows
#: ``EngineConfig.dtype``; the speech tokenizer is always float32).
DTYPE_SETTINGS = {"flow": ("flow_dtype", "float32"), "hift": ("hift_dtype", "float32")}


class GlmPipeline:
    """Text frontend + text tokenizer + :class:`SegmentSynthesizer`."""

    def __init__(
        self, tokenizer: TextTokenizer, frontend: TextFrontend, synthesizer: SegmentSynthesizer
    ) -> None:
        self.tokenizer = tokenizer
        self.frontend = frontend
        self.synthesizer = synthesizer

    def segment_texts(self, text: str, options: SynthesisOptions) -> tuple[list[list[int]], list[TextSpan]]:
        """Token ids of each segment (phoneme text when requested) and the original text it speaks;
        segments without tokens are dropped.

        Raises:
            NothingToSayError: when no segment has any token.
        """
        result = self.frontend.analyze(
            text,
            phoneme=options.phoneme,
            extra_entries=options.pronunciations,
            spans=options.timestamps != "none",
        )
        segments: list[list[int]] = []
        spans: list[TextSpan] = []
        for segment in result.segments:
            spoken = segment.phonemes if options.phoneme and segment.phonemes else segment.text
            ids = self.tokenizer.encode(spoken)
            if ids:
                segments.append(ids)
                spans.append(TextSpan.of(text, segment))
        if not segments:
            raise NothingToSayError("nothing to say: the text tokenizes to nothing")
        return segments, spans

    def stream_steps(
        self,
        text: str,
        voice: VoiceFeatures,
        options: SynthesisOptions,
        cancel: CancelToken | None = None,
    ) -> Iterator[AudioChunk | StepPending]:
        """Audio chunks of ``text`` in ``voice`` (one per segment, or per block when streamed), and
        ``STEP_PENDING`` whenever decoding waits for the scheduler's next step (text is analyzed now)."""
        segments, spans = self.segment_texts(text, options)
        if voice.prompt_text_ids.size == 0:  # features stored before empty transcripts became "."
            ids = np.asarray(prompt_text_ids(self.tokenizer, ""), dtype=np.int64)
            voice = dataclasses.replace(voice, prompt_text_ids=ids)
        captions = spans if options.timestamps != "none" else None
        return self.synthesizer.stream_steps(segments, voice, options, cancel, captions)


@dataclass(frozen=True)
class GlmComponents:
    """Everything a loaded glm engine holds."""

    pipeline: GlmPipeline
    voices: VoiceEncoder
    dtypes: Mapping[str, str]


def component_dtypes(config: EngineConfig) -> dict[str, str]:
    """Dtype name of each component for ``config`` (keys ``llm``, ``speech_tokenizer``, ``flow``, ``hift``)."""
    from glmtts.engines.glm.quantize import llm_compute_dtype

    llm_dtype = llm_compute_dtype(str(config.extra.get("llm_quant", "none")), config.dtype)
    dtypes = {"llm": llm_dtype, "speech_tokenizer": "float32"}
    dtypes.update(
        {name: str(config.extra.get(key, default)) for name, (key, default) in DTYPE_SETTINGS.items()}
    )
    return dtypes


def load_components(
    layout: CheckpointLayout,
    device: torch.device,
    config: EngineConfig,
    sample_rate: int,
    report: Callable[[str, list[Path]], None],
) -> GlmComponents:
    """Load every stage of the engine from ``layout`` (nothing is loaded lazily later)."""
    from glmtts.engines.glm.checkpoint import resolve_dtype, safetensor_files
    from glmtts.engines.glm.mel import MelExtractor
    from glmtts.engines.glm.speaker import SpeakerEncoder
    from glmtts.engines.glm.speech_tokenizer import SpeechTokenizer
    from glmtts.engines.glm.token2wav import Token2Wav
    from glmtts.engines.glm.tokenizer import TextTokenizer
    from glmtts.engines.glm.voice import VoiceEncoder
    from glmtts.text import FrontendConfig, TextFrontend

    dtypes = component_dtypes(config)
    torch_dtypes = {name: resolve_dtype(value) for name, value in dtypes.items()}
    tokenizer = TextTokenizer.from_dir(layout.tokenizer_dir)
    report("text tokenizer", [layout.tokenizer_dir / "tokenizer.model"])
    lm = _load_lm(layout, tokenizer.special_token_ids(), device, torch_dtypes["llm"], config)
    report("llm", safetensor_files(layout.llm_dir, "LLM"))
    speech_tokenizer = SpeechTokenizer.load(
        layout.speech_tokenizer_dir, device, torch_dtypes["speech_tokenizer"]
    )
    report("speech tokenizer", safetensor_files(layout.speech_tokenizer_dir, "speech tokenizer"))
    speaker = SpeakerEncoder.load(layout.campplus_path, str(device), max(1, config.n_threads))
    report("speaker encoder", [layout.campplus_path])
    token2wav = Token2Wav.from_checkpoint(
        layout.root, device=device, dtype=torch_dtypes["flow"], vocoder_dtype=torch_dtypes["hift"]
    )
    report("flow and vocoder", [layout.flow_dir / "flow.pt", layout.hift_path])
    frontend = TextFrontend(
        FrontendConfig(dictionary_path=config.dictionary_path, cache_dir=config.cache_dir)
    )
    frontend.load()
    report("text frontend", [])
    mel = MelExtractor(sample_rate, device=device)
    voices = VoiceEncoder(tokenizer, speech_tokenizer, speaker, mel, frontend.normalize)
    limits = LengthLimits(
        min_ratio=float(config.extra.get("min_token_ratio", 2.0)),
        max_ratio=float(config.extra.get("max_token_ratio", 20.0)),
    )
    scheduler = build_scheduler(lm, config)
    synthesizer = SegmentSynthesizer(lm, token2wav, SynthesisSettings(limits=limits), scheduler)
    return GlmComponents(GlmPipeline(tokenizer, frontend, synthesizer), voices, dtypes)


def batch_limits(config: EngineConfig) -> BatchLimits:
    """Per-step limits from ``EngineConfig.extra``: ``max_batch`` (sequences decoded together; 1 is serial),
    ``batch_token_budget`` (tokens per step: one per decoding sequence, the rest prefill chunks) and
    ``kv_capacity_tokens`` (KV-cache positions preallocated for all sequences together)."""
    values = {key: int(config.extra.get(key, default)) for key, default in BATCH_SETTINGS.items()}
    return BatchLimits(values["max_batch"], values["batch_token_budget"], values["kv_capacity_tokens"])


def build_scheduler(lm: SpeechTokenLM, config: EngineConfig) -> StepScheduler:
    """The LM's step scheduler with its preallocated KV cache.

    ``EngineConfig.extra`` may also hold ``kv_block_tokens`` (positions per KV block, default 16) and
    ``static_decode_shapes`` (pad the key length of every decode step to the full table width, so the step
    has fixed shapes per batch-size bucket for CUDA graphs; default on for CUDA, off elsewhere).
    """
    from glmtts.engines.glm.scheduler import DEFAULT_BLOCK_TOKENS, StepScheduler

    static = bool(config.extra.get("static_decode_shapes", lm.device.type == "cuda"))
    block_tokens = int(config.extra.get("kv_block_tokens", DEFAULT_BLOCK_TOKENS))
    return StepScheduler(lm, batch_limits(config), block_tokens, static)


def _load_lm(
    layout: CheckpointLayout,
    special: SpecialTokenIds,
    device: torch.device,
    dtype: torch.dtype,
    config: EngineConfig,
) -> SpeechTokenLM:
    """The LLM as stored, or quantized (``extra["llm_quant"]``) from the cache under ``config.cache_dir``."""
    from glmtts.engines.glm.llm import SpeechTokenLM

    mode = str(config.extra.get("llm_quant", "none"))
    if mode == "none":
        return SpeechTokenLM.load(layout.llm_dir, special, device, dtype)
    from glmtts.engines.glm.quant_cache import load_quantized_llama

    cache_dir = config.cache_dir / "llm-quant" if config.cache_dir is not None else None
    loaded = load_quantized_llama(layout.llm_dir, device, dtype, mode, cache_dir)
    return SpeechTokenLM(loaded.model, special, loaded.report)
