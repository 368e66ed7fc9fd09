"""Speech tokens and audio for already tokenized text segments: seeding, prompt history and token-to-wave.

Per segment, as upstream's ``generate_long``: the random generator is seeded with the request's seed, the
LLM prompt is built from the voice and the prompt history (:class:`~glmtts.engines.glm.history.PromptHistory`,
when ``use_cache``), the LLM draws every speech token, then the tokens become audio. Two renderers:

* :class:`OneShotRenderer` (``SynthesisOptions.stream`` false: files, ``synth``, ``infer``, batch, HTTP
  without ``stream``) is upstream's ``token2wav_with_cache``: one full-attention flow pass over the voice
  prompt and all the segment's tokens, then one HiFT pass, with **one** generator in upstream's order
  (all LLM draws, then flow x₀, then the HiFT draws). A seed reproduces upstream's tokens and audio.
* :class:`StreamedRenderer` (``stream`` true) pushes each token into a
  :class:`~glmtts.engines.glm.token2wav_stream.Token2WavStream` while the LLM keeps decoding, so audio
  starts after the first block. The LLM keeps a generator of its own, seeded like the one-shot one, so a
  streamed request draws the same tokens; flow and HiFT draw from a second generator.

Ids the sampler draws outside the audio range (RAS's full-softmax fallback can return a text id) stay in
the LLM's own history but are skipped before the flow and the prompt history. Upstream passes them on,
where the flow's embedding then fails on the negative id and the utterance is lost.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import logging
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from glmtts.engines.base import AudioChunk, CancelToken, SynthesisOptions
from glmtts.engines.batching import STEP_PENDING, StepPending
from glmtts.engines.captions import TextSpan
from glmtts.engines.glm.history import MAX_PROMPT_SPEECH_TOKENS, PromptHistory
from glmtts.engines.glm.llm import LengthLimits
from glmtts.engines.glm.sampling import build_sampler

if TYPE_CHECKING:
    import torch

    from glmtts.engines.glm.llm import SpeechTokenLM
    from glmtts.engines.glm.scheduler import StepScheduler
    from glmtts.engines.glm.token2wav import Token2Wav
    from glmtts.engines.glm.token2wav_stream import StreamSchedule
    from glmtts.engines.glm.voice import VoiceFeatures

_LOGGER = logging.getLogger(__name__)

#: Mixed into the seed of the streamed path's flow/vocoder generator, so it never replays the LLM's stream.
_WAVE_SEED_SALT = 0x9E3779B97F4A7C15


@dataclass(frozen=True)
class SynthesisSettings:
    """Engine-level knobs of segment synthesis (per-request ones are in :class:`SynthesisOptions`)."""

    max_prompt_speech_tokens: int = MAX_PROMPT_SPEECH_TOKENS
    limits: LengthLimits = field(default_factory=LengthLimits)
    schedule: StreamSchedule | None = None  # block schedule of streamed requests (None: the default one)


@dataclass(frozen=True)
class SegmentJob:
    """Everything one segment's rendering needs."""

    index: int
    text_ids: list[int]
    prompt_text: list[int]
    prompt_speech: list[int]
    voice: VoiceFeatures
    options: SynthesisOptions
    is_last: bool
    cancel: CancelToken | None
    start_sample: int = 0  # where the segment starts in the request's output
    caption: TextSpan | None = None  # the original text it speaks, when captions are asked for


#: What a renderer yields: audio, or the marker that its sequence waits for the next batched LLM step.
RenderItem = AudioChunk | StepPending


class SegmentRenderer(abc.ABC):
    """Decodes one segment's speech tokens (on the shared step scheduler) and turns them into audio chunks."""

    def __init__(self, scheduler: StepScheduler, token2wav: Token2Wav, settings: SynthesisSettings) -> None:
        self.scheduler = scheduler
        self.lm = scheduler.lm
        self.token2wav = token2wav
        self.settings = settings

    @abc.abstractmethod
    def render(self, job: SegmentJob) -> Generator[RenderItem, None, list[int]]:
        """Yield the segment's audio (and ``STEP_PENDING`` while decoding waits); return its audio tokens."""

    def decode(self, job: SegmentJob, generator: torch.Generator) -> Iterator[int | StepPending]:
        """The segment's audio tokens as the LLM draws them, ``STEP_PENDING`` between batched steps.

        Non-audio ids are skipped and cancellation is checked after every step. However the generator
        ends (finished, cancelled, closed), the sequence leaves the scheduler and frees its KV blocks.
        """
        sampler = build_sampler(job.options.sampling)
        n_audio = self.lm.special.n_audio_tokens
        sequence = self.scheduler.submit(
            job.prompt_text, job.text_ids, job.prompt_speech, sampler, generator, self.settings.limits
        )
        try:
            while True:
                if job.cancel is not None:
                    job.cancel.raise_if_cancelled()
                while sequence.ready:
                    token = sequence.ready.popleft()
                    if 0 <= token < n_audio:
                        yield token
                    else:
                        _LOGGER.debug("segment %d: skipping non-audio id %d", job.index, token)
                if sequence.finished:
                    break
                yield STEP_PENDING
        finally:
            self.scheduler.release(sequence)

    def prompt_tensors(self, voice: VoiceFeatures) -> tuple[list[int], torch.Tensor, torch.Tensor]:
        """The flow's prompt: the voice's speech tokens, ``[1, F, 80]`` mel and ``[1, 192]`` embedding."""
        import torch

        device = self.token2wav.flow.device
        mel = torch.from_numpy(np.ascontiguousarray(voice.mel[None], dtype=np.float32)).to(device)
        embedding = torch.from_numpy(np.ascontiguousarray(voice.embedding[None], dtype=np.float32))
        return voice.speech_tokens.tolist(), mel, embedding.to(device)

    def chunk(self, audio: torch.Tensor | None, job: SegmentJob, is_last: bool = False) -> AudioChunk:
        samples = np.zeros(0, np.float32) if audio is None else _samples(audio)
        return AudioChunk(samples, self.token2wav.sample_rate, segment_index=job.index, is_last=is_last)

    def final_chunk(self, audio: torch.Tensor | None, job: SegmentJob, n_before: int) -> AudioChunk:
        """The segment's last chunk, carrying its caption (``n_before``: samples of its earlier chunks)."""
        chunk = self.chunk(audio, job, is_last=job.is_last)
        if job.caption is None:
            return chunk
        end = job.start_sample + n_before + chunk.samples.size
        caption = job.caption.timed(job.start_sample, end, chunk.sample_rate)
        return dataclasses.replace(chunk, captions=(caption,))

    @staticmethod
    def needs_final_chunk(audio: torch.Tensor | None, job: SegmentJob) -> bool:
        """Whether the segment's last chunk is sent: it has audio, ends the request or carries a caption."""
        return (audio is not None and audio.numel() > 0) or job.is_last or job.caption is not None


class OneShotRenderer(SegmentRenderer):
    """Upstream's non-streaming synthesis: all tokens, then one flow pass and one HiFT pass."""

    def render(self, job: SegmentJob) -> Generator[RenderItem, None, list[int]]:
        generator = seeded_generator(job.options.seed, self.lm.device)
        tokens: list[int] = []
        for item in self.decode(job, generator):
            if isinstance(item, StepPending):
                yield item
            else:
                tokens.append(item)
        audio = None
        if tokens:
            audio = self.token2wav.token2wav(tokens, *self.prompt_tensors(job.voice), generator=generator)
        if self.needs_final_chunk(audio, job):
            yield self.final_chunk(audio, job, 0)
        return tokens


class StreamedRenderer(SegmentRenderer):
    """Block-wise synthesis while the LLM decodes (audio after the first block, see ``token2wav_stream``)."""

    def render(self, job: SegmentJob) -> Generator[RenderItem, None, list[int]]:
        llm_generator = seeded_generator(job.options.seed, self.lm.device)
        wave_generator = seeded_generator(job.options.seed ^ _WAVE_SEED_SALT, self.token2wav.flow.device)
        stream = self.token2wav.stream(
            *self.prompt_tensors(job.voice), generator=wave_generator, schedule=self.settings.schedule
        )
        tokens: list[int] = []
        n_samples = 0
        for token in self.decode(job, llm_generator):
            if isinstance(token, StepPending):
                yield token
                continue
            tokens.append(token)
            audio = stream.push([token])
            if audio.numel():
                chunk = self.chunk(audio, job)
                n_samples += chunk.samples.size
                yield chunk
        tail = stream.finish()
        if self.needs_final_chunk(tail, job):
            yield self.final_chunk(tail, job, n_samples)
        return tokens


class SegmentSynthesizer:
    """Runs pre-tokenized segments through the LLM and token-to-wave stages for one voice."""

    def __init__(
        self,
        lm: SpeechTokenLM,
        token2wav: Token2Wav,
        settings: SynthesisSettings | None = None,
        scheduler: StepScheduler | None = None,
    ) -> None:
        from glmtts.engines.glm.scheduler import StepScheduler

        self.lm = lm
        self.token2wav = token2wav
        self.settings = settings or SynthesisSettings()
        self.scheduler = scheduler or StepScheduler(lm)

    def renderer(self, options: SynthesisOptions) -> SegmentRenderer:
        """The renderer ``options.stream`` selects."""
        kind = StreamedRenderer if options.stream else OneShotRenderer
        return kind(self.scheduler, self.token2wav, self.settings)

    def stream(
        self,
        segments: Sequence[Sequence[int]],
        voice: VoiceFeatures,
        options: SynthesisOptions,
        cancel: CancelToken | None = None,
        captions: Sequence[TextSpan] | None = None,
    ) -> Iterator[AudioChunk]:
        """:meth:`stream_steps` driven alone: run a scheduler step whenever it waits."""
        for item in self.stream_steps(segments, voice, options, cancel, captions):
            if isinstance(item, StepPending):
                self.scheduler.run_step()
            else:
                yield item

    def stream_steps(
        self,
        segments: Sequence[Sequence[int]],
        voice: VoiceFeatures,
        options: SynthesisOptions,
        cancel: CancelToken | None = None,
        captions: Sequence[TextSpan] | None = None,
    ) -> Iterator[RenderItem]:
        """Yield the audio of every segment (text ids), in order, and ``STEP_PENDING`` while decoding waits
        for the scheduler's next step; the last chunk has ``is_last``. Segments run one after another.

        ``captions``: the original text of each segment; the chunk where a segment ends then carries its
        timing (segments follow each other with no gap, so times are sums of sample counts)."""
        renderer = self.renderer(options)
        history = PromptHistory(
            voice.prompt_text_ids.tolist(),
            voice.speech_tokens.tolist(),
            self.settings.max_prompt_speech_tokens,
        )
        stats = _RequestStats(time.perf_counter())
        for index, text_ids in enumerate(segments):
            prompt_text, prompt_speech = history.prompt(len(text_ids))  # no entries without use_cache
            job = SegmentJob(
                index,
                list(text_ids),
                prompt_text,
                prompt_speech,
                voice,
                options,
                index == len(segments) - 1,
                cancel,
                stats.n_samples,
                captions[index] if captions is not None else None,
            )
            tokens = yield from stats.observe(renderer.render(job))
            stats.n_tokens += len(tokens)
            if options.use_cache:
                history.append(text_ids, tokens)
            _LOGGER.debug("segment %d: %d text ids -> %d speech tokens", index, len(text_ids), len(tokens))
        stats.log(len(segments), self.token2wav.sample_rate, options.stream)


def seeded_generator(seed: int, device: torch.device) -> torch.Generator:
    """A generator on ``device`` seeded like upstream's per-segment ``set_seed(seed)``."""
    import torch

    return torch.Generator(device=device).manual_seed(seed)


def _samples(audio: torch.Tensor) -> np.ndarray:
    return np.clip(audio.detach().float().cpu().numpy(), -1.0, 1.0).astype(np.float32)


@dataclass
class _RequestStats:
    """Counters of one request, logged once at the end."""

    started: float
    n_tokens: int = 0
    n_samples: int = 0
    first_audio_s: float | None = None

    def observe(
        self, chunks: Generator[RenderItem, None, list[int]]
    ) -> Generator[RenderItem, None, list[int]]:
        """Pass ``chunks`` through, counting samples and the time to the first audio (closing ``chunks``
        when this generator is closed, so the segment's sequence leaves the scheduler at once)."""
        with contextlib.closing(chunks):
            while True:
                try:
                    chunk = next(chunks)
                except StopIteration as stop:
                    return stop.value
                if isinstance(chunk, AudioChunk):
                    if chunk.samples.size and self.first_audio_s is None:
                        self.first_audio_s = time.perf_counter() - self.started
                    self.n_samples += chunk.samples.size
                yield chunk

    def log(self, n_segments: int, sample_rate: int, streamed: bool) -> None:
        elapsed = time.perf_counter() - self.started
        audio_s = self.n_samples / sample_rate
        _LOGGER.info(
            "glm synthesis (%s): %d segment(s), %d speech tokens, %.2f s audio in %.2f s "
            "(first audio %.2f s, RTF %.2f)",
            "streamed" if streamed else "one-shot",
            n_segments,
            self.n_tokens,
            audio_s,
            elapsed,
            self.first_audio_s if self.first_audio_s is not None else elapsed,
            elapsed / max(audio_s, 1e-9),
        )
