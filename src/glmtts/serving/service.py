"""The one place that turns a :class:`SpeechRequest` into audio — used by the HTTP routes, the UI and jobs.

Every engine call runs as a task on the :class:`~glmtts.serving.worker.ModelWorker`; this module only
validates, resolves voices, awaits the worker and encodes. Async methods are for the event loop; the
``*_sync`` variants block the calling thread (for Gradio handlers and job runners, never the model thread).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import soundfile as sf

from glmtts.audio import encode_audio, read_audio_bytes, validate_prompt
from glmtts.engines.base import AudioChunk, CancelToken, Engine, EngineInfo, SynthesisOptions, Voice
from glmtts.errors import (
    InvalidAudioError,
    NothingToSayError,
    NotReadyError,
    PayloadTooLargeError,
    TextTooLongError,
    UnknownVoiceError,
)
from glmtts.serving.encoding import StreamEncoder
from glmtts.serving.lifecycle import Lifecycle, Phase
from glmtts.serving.pronunciations import PronunciationStore
from glmtts.serving.requests import OPENAI_VOICES, PromptClip, SpeechRequest, SpeechResult, Timings, VoiceRef
from glmtts.serving.settings import ServeSettings
from glmtts.serving.worker import ModelWorker, Priority, current_token
from glmtts.voices import VoiceStore

_LOGGER = logging.getLogger(__name__)


class TTSService:
    """Validates requests, resolves voices and runs synthesis on the model worker."""

    def __init__(
        self,
        settings: ServeSettings,
        lifecycle: Lifecycle,
        worker: ModelWorker,
        voices: VoiceStore,
        pronunciations: PronunciationStore,
        metrics: Any | None = None,
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.worker = worker
        self.voices = voices
        self.pronunciations = pronunciations
        self.metrics = metrics
        self.engine_info: EngineInfo | None = None
        self._lazy_lock: asyncio.Lock | None = None

    # ------------------------------------------------------------------ readiness
    def check_ready(self) -> None:
        """Raise :class:`NotReadyError` unless requests can be served now (lazy mode loads on demand)."""
        if self.lifecycle.ready or (self.settings.lazy and self.lifecycle.phase is Phase.INIT):
            return
        raise NotReadyError(f"the server is not ready (phase: {self.lifecycle.phase.value})")

    async def ensure_loaded(self) -> None:
        """Lazy mode only: load the engine on the first request, as upstream servers do."""
        if self.engine_info is not None or not self.settings.lazy:
            return
        self._lazy_lock = self._lazy_lock or asyncio.Lock()
        async with self._lazy_lock:
            if self.engine_info is None:
                from glmtts.serving.startup import load_engine

                await load_engine(self)
                self.lifecycle.set_phase(Phase.READY)

    @property
    def sample_rate(self) -> int:
        if self.engine_info is None:
            raise NotReadyError("the engine is not loaded yet")
        return self.engine_info.sample_rate

    # ------------------------------------------------------------------ input checks
    def check_text(self, text: str) -> str:
        """Strip ``text``; refuse empty or over-long input."""
        if not isinstance(text, str) or not text.strip():
            raise NothingToSayError("text is empty")
        if len(text) > self.settings.max_text_chars:
            raise TextTooLongError(
                f"text has {len(text)} characters; at most {self.settings.max_text_chars} are accepted"
            )
        return text.strip()

    def decode_prompt(self, data: bytes, prompt_text: str | None, name: str = "prompt_audio") -> PromptClip:
        """Decode and validate an uploaded prompt (blocking; call from a thread)."""
        if len(data) > self.settings.max_upload_bytes:
            raise PayloadTooLargeError(
                f"{name} is {len(data)} bytes; at most {self.settings.max_upload_bytes} are accepted"
            )
        self._check_header_duration(data, name)
        samples, sample_rate = read_audio_bytes(data, name=name)
        validate_prompt(samples, sample_rate, max_s=self.settings.max_prompt_s)
        return PromptClip(
            samples=samples, sample_rate=sample_rate, prompt_text=(prompt_text or "").strip() or None
        )

    def _check_header_duration(self, data: bytes, name: str) -> None:
        """Refuse over-long clips from their header, before decoding them into memory."""
        try:
            info = sf.info(io.BytesIO(data))
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
            return  # not a libsndfile format: the decoder reports it (or ffmpeg handles it)
        duration_s = float(info.frames) / float(info.samplerate or 1)
        if duration_s > self.settings.max_prompt_s:
            raise InvalidAudioError(
                f"{name} is {duration_s:.1f} s long; at most {self.settings.max_prompt_s:g} s is accepted"
            )

    def resolve_voice(self, request: SpeechRequest) -> VoiceRef:
        """Decide which voice a request means, without touching the engine; raise for unknown names."""
        if request.prompt is not None:
            return VoiceRef("prompt", prompt=request.prompt)
        builtins = self.engine_info.builtin_voices if self.engine_info else ()
        name = (request.voice or "").strip()
        if not name or name == "default":
            return VoiceRef("builtin", None)
        if name in builtins:
            return VoiceRef("builtin", name)
        if name.lower() in OPENAI_VOICES and builtins:
            return VoiceRef("builtin", builtins[OPENAI_VOICES.index(name.lower()) % len(builtins)])
        try:
            return VoiceRef("stored", self.voices.record(name).voice_id)
        except UnknownVoiceError:
            choices = ", ".join([*builtins, *OPENAI_VOICES][:20])
            raise UnknownVoiceError(
                f"unknown voice {name[:80]!r}; use a stored voice (GET /v1/voices), a built-in voice or an "
                f"OpenAI name ({choices})"
            ) from None

    def options_for(self, options: SynthesisOptions) -> SynthesisOptions:
        """Add the server's pronunciation dictionary to a request's options."""
        entries = self.pronunciations.entries()
        if not entries:
            return options
        return options.replace(pronunciations=(*entries, *options.pronunciations))

    # ------------------------------------------------------------------ on the model thread
    def _voice_on_worker(self, engine: Engine, ref: VoiceRef) -> tuple[Voice, bool]:
        if ref.kind == "prompt":
            assert ref.prompt is not None
            clip = ref.prompt
            return self.voices.prompt_voice(
                clip.samples, clip.sample_rate, clip.prompt_text, engine.prepare_voice
            )
        if ref.kind == "stored":
            assert ref.name is not None
            return self.voices.get(ref.name), True
        return engine.builtin_voice(ref.name), True

    def _check_awake(self) -> None:
        if self.lifecycle.phase is Phase.SLEEPING:
            raise NotReadyError("the server is sleeping; POST /v1/admin/wake first")

    def _stream_on_worker(
        self, engine: Engine, request: SpeechRequest, ref: VoiceRef, cancel: CancelToken, enqueued_at: float
    ) -> Iterator[tuple[AudioChunk | None, Timings]]:
        """Generator run on the model thread: yields (chunk, timings so far); a final (None, timings)."""
        self._check_awake()
        started = time.monotonic()
        voice, cached = self._voice_on_worker(engine, ref)
        voice_done = time.monotonic()
        first_audio = 0.0
        for chunk in engine.stream(request.text, voice, self.options_for(request.options), cancel):
            if not first_audio:
                first_audio = time.monotonic()
            yield chunk, Timings()
        finished = time.monotonic()
        yield (
            None,
            Timings(
                queue_wait_s=started - enqueued_at,
                voice_s=voice_done - started,
                first_audio_s=(first_audio or finished) - enqueued_at,
                synth_s=finished - voice_done,
                total_s=finished - enqueued_at,
                voice_cached=cached,
            ),
        )

    def _synthesize_on_worker(
        self, engine: Engine, request: SpeechRequest, ref: VoiceRef, enqueued_at: float
    ) -> tuple[np.ndarray, Timings]:
        token = current_token() or CancelToken()
        pieces: list[np.ndarray] = []
        timings = Timings()
        for chunk, chunk_timings in self._stream_on_worker(engine, request, ref, token, enqueued_at):
            if chunk is None:
                timings = chunk_timings
            else:
                pieces.append(chunk.samples)
        samples = np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, dtype=np.float32)
        return samples, timings

    # ------------------------------------------------------------------ public entry points
    async def synthesize(
        self,
        request: SpeechRequest,
        priority: Priority = Priority.INTERACTIVE,
        cancel: CancelToken | None = None,
    ) -> SpeechResult:
        """Synthesize a whole request and encode it."""
        future = self._submit_whole(request, priority, cancel)
        samples, timings = await asyncio.wrap_future(future)
        audio = await asyncio.to_thread(encode_audio, samples, self.sample_rate, request.audio_format)
        return self._finish(request, samples, audio, timings)

    def synthesize_sync(
        self,
        request: SpeechRequest,
        priority: Priority = Priority.INTERACTIVE,
        cancel: CancelToken | None = None,
    ) -> SpeechResult:
        """Blocking :meth:`synthesize` for threads other than the model thread (Gradio handlers, jobs)."""
        samples, timings = self._submit_whole(request, priority, cancel).result()
        audio = encode_audio(samples, self.sample_rate, request.audio_format)
        return self._finish(request, samples, audio, timings)

    def _submit_whole(
        self, request: SpeechRequest, priority: Priority, cancel: CancelToken | None
    ) -> concurrent.futures.Future[tuple[np.ndarray, Timings]]:
        """Queue a whole-utterance synthesis on the model thread (the timeout counts from now)."""
        ref = self.resolve_voice(request)
        enqueued_at = time.monotonic()
        return self.worker.submit(
            lambda engine: self._synthesize_on_worker(engine, request, ref, enqueued_at),
            priority=priority,
            timeout_s=self.settings.request_timeout_s,
            cancel=cancel,
        )

    def _finish(
        self, request: SpeechRequest, samples: np.ndarray, audio: bytes, timings: Timings
    ) -> SpeechResult:
        result = SpeechResult(samples, self.sample_rate, audio, request.audio_format, timings)
        self._record(request, result.duration_s, timings)
        return result

    def open_stream(self, request: SpeechRequest, cancel: CancelToken | None = None) -> AudioStream:
        """Queue a streaming synthesis; raises :class:`OverloadedError` at once when the queue is full."""
        ref = self.resolve_voice(request)
        enqueued_at = time.monotonic()
        chunks = self.worker.submit_stream(
            lambda engine, token: self._stream_on_worker(engine, request, ref, token, enqueued_at),
            timeout_s=self.settings.request_timeout_s,
            cancel=cancel,
        )
        return AudioStream(self, request, chunks)

    def _record(self, request: SpeechRequest, audio_s: float, timings: Timings) -> None:
        rtf = timings.synth_s / audio_s if audio_s > 0 else 0.0
        if self.metrics is not None:
            self.metrics.observe_synthesis(request.route, timings.first_audio_s, rtf, audio_s)
        if self.settings.log_requests:
            _LOGGER.info(
                "request %s route=%s chars=%d audio_s=%.2f queue_s=%.3f voice_s=%.3f cached=%s ttfa_s=%.3f "
                "synth_s=%.3f rtf=%.3f",
                request.request_id or "-",
                request.route,
                len(request.text),
                audio_s,
                timings.queue_wait_s,
                timings.voice_s,
                timings.voice_cached,
                timings.first_audio_s,
                timings.synth_s,
                rtf,
            )


class AudioStream:
    """Encoded audio bytes of one streaming request, consumed with ``async for`` or ``for``.

    Iterating yields non-empty byte strings; errors raised before the first chunk (bad text, unknown
    phoneme…) surface on the first iteration, so callers can still answer with a 4xx. :meth:`cancel`
    (e.g. on client disconnect) stops the synthesis at its next chunk.
    """

    def __init__(self, service: TTSService, request: SpeechRequest, chunks: Any) -> None:
        self._service = service
        self._request = request
        self._chunks = chunks
        self._encoder = StreamEncoder(request.audio_format, service.sample_rate)
        self._audio_s = 0.0
        self._done = False
        self.timings: Timings | None = None

    def cancel(self) -> None:
        self._chunks.cancel()

    def _bytes_for(self, item: tuple[AudioChunk | None, Timings]) -> bytes:
        chunk, timings = item
        if chunk is not None:
            self._audio_s += chunk.duration_s
            return self._encoder.encode(chunk.samples)
        self.timings = timings
        self._service._record(self._request, self._audio_s, timings)
        self._done = True
        return self._encoder.finish()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for item in self._chunks:
                data = self._bytes_for(item)
                if data:
                    yield data
        finally:
            if not self._done:
                self.cancel()

    def __iter__(self) -> Iterator[bytes]:
        try:
            for item in self._chunks:
                data = self._bytes_for(item)
                if data:
                    yield data
        finally:
            if not self._done:
                self.cancel()
