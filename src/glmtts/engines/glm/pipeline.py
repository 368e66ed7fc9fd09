"""Text -> audio orchestration: segments, prompt history, seeding and true streaming.

For each text segment (from :class:`~glmtts.text.TextFrontend`): the generator is re-seeded (upstream
re-seeds before every segment; one generator drives LLM sampling, flow noise and vocoder noise), the LLM
decodes speech tokens, and every token is pushed into a :class:`Token2WavStream` as soon as it is drawn.
The stream turns complete token blocks (first 25 tokens, then larger) into audio that is yielded while the
LLM keeps decoding; the emitted prefix never changes and blocks are cross-faded by the stream.

Prompt history (``use_cache``, upstream's ``--use_cache``): the LLM prompt for a segment is the voice's
prompt text/speech followed by the texts and speech tokens generated for earlier segments. Before each
segment the oldest generated entries are dropped while the history's speech tokens plus the estimated
tokens of the new segment exceed :attr:`PipelineOptions.max_prompt_speech_tokens` (750 ≈ 30 s). The flow
always uses the voice's own prompt.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glmtts.engines.base import AudioChunk, CancelToken, SynthesisOptions
from glmtts.engines.glm.llm import LengthLimits
from glmtts.engines.glm.sampling import build_sampler
from glmtts.errors import NothingToSayError

if TYPE_CHECKING:
    import torch

    from glmtts.engines.base import EngineConfig
    from glmtts.engines.glm.checkpoint import CheckpointLayout
    from glmtts.engines.glm.llm import SpeechTokenLM
    from glmtts.engines.glm.token2wav import Token2Wav
    from glmtts.engines.glm.token2wav_stream import StreamSchedule
    from glmtts.engines.glm.tokenizer import TextTokenizer
    from glmtts.engines.glm.voice import VoiceEncoder, VoiceFeatures
    from glmtts.text import TextFrontend

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineOptions:
    """Engine-level knobs of the pipeline (per-request ones are in :class:`SynthesisOptions`)."""

    max_prompt_speech_tokens: int = 750
    limits: LengthLimits = field(default_factory=LengthLimits)
    schedule: StreamSchedule | None = None


@dataclass
class _SegmentHistory:
    """Prompt history of one request: (text ids, speech tokens) of the segments generated so far."""

    entries: deque[tuple[list[int], list[int]]] = field(default_factory=deque)

    def prompt(self, voice: VoiceFeatures, n_new_text: int, cap: int) -> tuple[list[int], list[int]]:
        """Prompt text and speech for the next segment, after trimming the oldest entries to fit ``cap``."""
        base_text = voice.prompt_text_ids.tolist()
        base_speech = voice.speech_tokens.tolist() if base_text else []
        while self.entries:
            n_text = len(base_text) + sum(len(text) for text, _ in self.entries)
            n_speech = len(base_speech) + sum(len(speech) for _, speech in self.entries)
            estimate = n_speech / max(n_text, 1) * n_new_text
            if n_speech + estimate <= cap:
                break
            self.entries.popleft()
        text = base_text + [i for entry, _ in self.entries for i in entry]
        speech = base_speech + [t for _, entry in self.entries for t in entry]
        return text, speech


@dataclass
class _StreamStats:
    """Counters of one request, logged once at the end."""

    started: float
    n_tokens: int = 0
    n_samples: int = 0
    first_audio_s: float | None = None

    def observe(
        self, chunks: Generator[AudioChunk, None, list[int]]
    ) -> Generator[AudioChunk, None, list[int]]:
        """Pass ``chunks`` through, counting samples and the time to the first audio."""
        while True:
            try:
                chunk = next(chunks)
            except StopIteration as stop:
                return stop.value
            if chunk.samples.size and self.first_audio_s is None:
                self.first_audio_s = time.perf_counter() - self.started
            self.n_samples += chunk.samples.size
            yield chunk

    def log(self, n_chars: int, n_segments: int, sample_rate: int) -> None:
        elapsed = time.perf_counter() - self.started
        audio_s = self.n_samples / sample_rate
        _LOGGER.info(
            "glm synthesis: %d chars, %d segment(s), %d speech tokens, %.2f s audio in %.2f s "
            "(first audio %.2f s, RTF %.2f)",
            n_chars,
            n_segments,
            self.n_tokens,
            audio_s,
            elapsed,
            self.first_audio_s if self.first_audio_s is not None else elapsed,
            elapsed / max(audio_s, 1e-9),
        )


class GlmPipeline:
    """Runs text segments through the LLM and token-to-wave stages for one voice."""

    def __init__(
        self,
        tokenizer: TextTokenizer,
        lm: SpeechTokenLM,
        token2wav: Token2Wav,
        frontend: TextFrontend,
        options: PipelineOptions | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.lm = lm
        self.token2wav = token2wav
        self.frontend = frontend
        self.options = options or PipelineOptions()

    def segment_texts(self, text: str, options: SynthesisOptions) -> list[list[int]]:
        """Token ids of each segment (phoneme text when requested); segments without tokens are dropped.

        Raises:
            NothingToSayError: when no segment has any token.
        """
        result = self.frontend.analyze(text, phoneme=options.phoneme, extra_entries=options.pronunciations)
        segments = []
        for segment in result.segments:
            spoken = segment.phonemes if options.phoneme and segment.phonemes else segment.text
            ids = self.tokenizer.encode(spoken)
            if ids:
                segments.append(ids)
        if not segments:
            raise NothingToSayError("nothing to say: the text tokenizes to nothing")
        return segments

    def stream(
        self,
        text: str,
        voice: VoiceFeatures,
        options: SynthesisOptions,
        cancel: CancelToken | None = None,
    ) -> Iterator[AudioChunk]:
        """Yield audio chunks of ``text`` in ``voice`` as they become final."""
        started = time.perf_counter()
        segments = self.segment_texts(text, options)
        history = _SegmentHistory()
        stats = _StreamStats(started)
        for index, text_ids in enumerate(segments):
            is_last_segment = index == len(segments) - 1
            tokens = yield from stats.observe(
                self._segment(index, text_ids, voice, options, history, is_last_segment, cancel)
            )
            stats.n_tokens += len(tokens)
            if options.use_cache:
                history.entries.append((text_ids, tokens))
        stats.log(len(text), len(segments), self.token2wav.sample_rate)

    def _segment(
        self,
        index: int,
        text_ids: list[int],
        voice: VoiceFeatures,
        options: SynthesisOptions,
        history: _SegmentHistory,
        is_last: bool,
        cancel: CancelToken | None,
    ) -> Generator[AudioChunk, None, list[int]]:
        """Decode one segment, streaming its audio; return the valid speech tokens it produced."""
        generator = self._generator(options.seed)
        prompt_text, prompt_speech = history.prompt(
            voice, len(text_ids), self.options.max_prompt_speech_tokens
        )
        stream = self.token2wav.stream(
            voice.speech_tokens.tolist(),
            _tensor(voice.mel[None], self.token2wav),
            _tensor(voice.embedding[None], self.token2wav),
            generator=generator,
            schedule=self.options.schedule,
        )
        sampler = build_sampler(options.sampling)
        n_audio = self.lm.special.n_audio_tokens
        tokens: list[int] = []
        decoded = self.lm.generate(
            prompt_text, text_ids, prompt_speech, sampler, generator, self.options.limits
        )
        for token in decoded:
            if cancel is not None:
                cancel.raise_if_cancelled()
            if not 0 <= token < n_audio:
                _LOGGER.debug("segment %d: skipping non-audio id %d drawn by the sampler", index, token)
                continue
            tokens.append(token)
            audio = stream.push([token])
            if audio.numel():
                yield AudioChunk(_samples(audio), self.token2wav.sample_rate, segment_index=index)
        if cancel is not None:
            cancel.raise_if_cancelled()
        tail = stream.finish()
        if tail.numel() or is_last:
            yield AudioChunk(_samples(tail), self.token2wav.sample_rate, segment_index=index, is_last=is_last)
        _LOGGER.debug("segment %d: %d text tokens -> %d speech tokens", index, len(text_ids), len(tokens))
        return tokens

    def _generator(self, seed: int) -> torch.Generator:
        import torch

        device = self.lm.device
        return torch.Generator(device=device).manual_seed(seed)


def _tensor(array: np.ndarray, token2wav: Any) -> torch.Tensor:
    import torch

    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(token2wav.flow.device)


def _samples(audio: torch.Tensor) -> np.ndarray:
    return np.clip(audio.detach().float().cpu().numpy(), -1.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class GlmComponents:
    """Everything a loaded glm engine holds."""

    pipeline: GlmPipeline
    voices: VoiceEncoder


def load_components(
    layout: CheckpointLayout,
    device: torch.device,
    dtype: torch.dtype,
    config: EngineConfig,
    sample_rate: int,
    report: Callable[[str, list[Path]], None],
) -> GlmComponents:
    """Load every stage of the engine from ``layout`` (nothing is loaded lazily later)."""
    from glmtts.engines.glm.checkpoint import safetensor_files
    from glmtts.engines.glm.llm import SpeechTokenLM
    from glmtts.engines.glm.mel import MelExtractor
    from glmtts.engines.glm.speaker import SpeakerEncoder
    from glmtts.engines.glm.speech_tokenizer import SpeechTokenizer
    from glmtts.engines.glm.token2wav import Token2Wav
    from glmtts.engines.glm.tokenizer import TextTokenizer
    from glmtts.engines.glm.voice import VoiceEncoder
    from glmtts.text import FrontendConfig, TextFrontend

    tokenizer = TextTokenizer.from_dir(layout.tokenizer_dir)
    report("text tokenizer", [layout.tokenizer_dir / "tokenizer.model"])
    lm = SpeechTokenLM.load(layout.llm_dir, tokenizer.special_token_ids(), device, dtype)
    report("llm", safetensor_files(layout.llm_dir, "LLM"))
    speech_tokenizer = SpeechTokenizer.load(layout.speech_tokenizer_dir, device, dtype)
    report("speech tokenizer", safetensor_files(layout.speech_tokenizer_dir, "speech tokenizer"))
    speaker = SpeakerEncoder.load(layout.campplus_path, str(device), max(1, config.n_threads))
    report("speaker encoder", [layout.campplus_path])
    token2wav = Token2Wav.from_checkpoint(layout.root, device=device, dtype=dtype)
    report("flow and vocoder", [layout.flow_dir / "flow.pt", layout.hift_path])
    frontend = TextFrontend(
        FrontendConfig(dictionary_path=config.dictionary_path, cache_dir=config.cache_dir)
    )
    frontend.load()
    report("text frontend", [])
    mel = MelExtractor(sample_rate, device=device)
    cache_size = int(config.extra.get("voice_cache_size", 32))
    voices = VoiceEncoder(tokenizer, speech_tokenizer, speaker, mel, frontend.normalize, cache_size)
    limits = LengthLimits(
        min_ratio=float(config.extra.get("min_token_ratio", 2.0)),
        max_ratio=float(config.extra.get("max_token_ratio", 20.0)),
    )
    options = PipelineOptions(limits=limits)
    return GlmComponents(GlmPipeline(tokenizer, lm, token2wav, frontend, options), voices)
