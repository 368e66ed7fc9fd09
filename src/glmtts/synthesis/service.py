"""The synthesis service: the only way any front end turns a request into audio.

:meth:`SynthesisService.run` resolves the voice (unknown names fail here, before anything is queued),
then queues one task on the model worker that loads the engine if the host is lazy, gets the voice's
features from the voice subsystem, streams ``engine.stream_steps`` chunk by chunk and ends with a
:class:`~glmtts.synthesis.stream.Summary`. ``STEP_PENDING`` (a batching engine's parked sequence) is passed
through to the worker, which batches such tasks (:mod:`glmtts.synthesis.scheduler`) and never puts the
marker on a stream; engines without batching never park; the request's log line and the metrics observer run as that
summary is made. The live pronunciation dictionary is the engine's own (:meth:`set_pronunciations`), so
every request of the process reads text the same way.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from glmtts.engines.base import CancelToken, Engine
from glmtts.engines.batching import StepPending
from glmtts.errors import InvalidOptionError
from glmtts.synthesis.host import EngineHost
from glmtts.synthesis.request import RequestDecoder, SynthesisRequest
from glmtts.synthesis.stream import PlaybackClock, Summary, SynthesisEvent, SynthesisStream, Timings
from glmtts.synthesis.worker import ModelWorker, Priority
from glmtts.text import FrontendResult
from glmtts.voices import PromptClip, ResolvedVoice, VoiceLibrary, VoiceRecord, VoiceSpec

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")
#: Called once per finished request with the request and its summary (metrics).
SynthesisObserver = Callable[[SynthesisRequest, Summary], None]


class SynthesisService:
    """Runs requests on the model worker; see the module docstring."""

    def __init__(
        self,
        host: EngineHost,
        worker: ModelWorker,
        voices: VoiceLibrary,
        decoder: RequestDecoder,
        *,
        request_timeout_s: float | None = None,
        log_requests: bool = True,
        observer: SynthesisObserver | None = None,
    ) -> None:
        self.host = host
        self.worker = worker
        self.voices = voices
        self.decoder = decoder
        self.request_timeout_s = request_timeout_s
        self.log_requests = log_requests
        self.observer = observer

    # ------------------------------------------------------------------ synthesis
    def run(
        self,
        request: SynthesisRequest,
        priority: Priority = Priority.INTERACTIVE,
        cancel: CancelToken | None = None,
    ) -> SynthesisStream:
        """Queue ``request``; raises at once for unknown voices, unsupported options or a full queue.

        Readiness gates (503 before READY) are the front ends' (``host.check_ready``); a task that runs
        before the engine is loaded fails with :class:`~glmtts.errors.NotReadyError` (a lazy host loads).
        Word timestamps asked of an engine that cannot time words fall back to segment timestamps: the
        stream's ``timestamps`` says which level it carries and ``warnings`` says why it changed.
        """
        self._check_capabilities(request)
        request, warnings = self._fit_timestamps(request)
        resolved = self.resolve_voice(request.voice)
        enqueued_at = time.monotonic()
        events = self.worker.submit_stream(
            lambda engine, token: self._events(engine, request, resolved, token, enqueued_at),
            priority=priority,
            timeout_s=self.request_timeout_s,
            cancel=cancel,
        )
        return SynthesisStream(events, timestamps=request.options.timestamps, warnings=warnings)

    def _check_capabilities(self, request: SynthesisRequest) -> None:
        info = self.host.info
        if info is not None and not info.capabilities.supports_speed(request.options.speed):
            low, high = info.capabilities.speed_range
            raise InvalidOptionError(
                f"the {info.name} engine supports speeds {low:g}-{high:g}, not {request.options.speed:g}"
            )

    def _fit_timestamps(self, request: SynthesisRequest) -> tuple[SynthesisRequest, tuple[str, ...]]:
        info = self.host.info
        if request.options.timestamps != "word" or info is None or info.capabilities.word_timestamps:
            return request, ()
        options = request.options.replace(timestamps="segment")
        warning = f"the {info.name} engine cannot time words; timestamps fell back to 'segment'"
        return dataclasses.replace(request, options=options), (warning,)

    def resolve_voice(self, spec: VoiceSpec) -> ResolvedVoice:
        return self.voices.resolve(spec, self.host.builtin_voices())

    def _events(
        self,
        engine: Engine,
        request: SynthesisRequest,
        resolved: ResolvedVoice,
        cancel: CancelToken,
        enqueued_at: float,
    ) -> Iterator[SynthesisEvent | StepPending]:
        """The task on the model thread (it parks with the engine's sequence: see the module docstring)."""
        self.host.ensure_loaded(engine)
        started = time.monotonic()
        voice, cached = self.voices.voice_for(engine, resolved)
        voice_done = time.monotonic()
        clock = PlaybackClock()
        for event in engine.stream_steps(request.text, voice, request.options, cancel):
            if not isinstance(event, StepPending):
                clock.arrive(event.duration_s, time.monotonic())
            yield event
        finished = time.monotonic()
        timings = Timings(
            queue_wait_s=started - enqueued_at,
            voice_s=voice_done - started,
            first_audio_s=(clock.first_arrival or finished) - enqueued_at,
            synth_s=finished - voice_done,
            total_s=finished - enqueued_at,
            voice_cached=cached,
            n_chunks=clock.n_chunks,
            continuity=clock.continuity,
        )
        summary = Summary(engine.sample_rate, clock.audio_s, timings)
        self._record(request, summary)
        yield summary

    def _record(self, request: SynthesisRequest, summary: Summary) -> None:
        if self.observer is not None:
            self.observer(request, summary)
        if not self.log_requests:
            return
        timings = summary.timings
        _LOGGER.info(
            "request %s route=%s chars=%d audio_s=%.2f queue_s=%.3f voice_s=%.3f cached=%s ttfa_s=%.3f "
            "synth_s=%.3f rtf=%.3f chunks=%d continuity=%.2f",
            request.request_id or "-",
            request.route,
            len(request.text),
            summary.audio_s,
            timings.queue_wait_s,
            timings.voice_s,
            timings.voice_cached,
            timings.first_audio_s,
            timings.synth_s,
            summary.rtf,
            timings.n_chunks,
            timings.continuity,
        )

    # ------------------------------------------------------------------ other model-thread work
    def call(
        self, task: Callable[[Engine], T], priority: Priority = Priority.INTERACTIVE
    ) -> concurrent.futures.Future[T]:
        """Run ``task(engine)`` on the model worker (after a lazy load), with the request timeout."""

        def loaded_task(engine: Engine) -> T:
            self.host.ensure_loaded(engine)
            return task(engine)

        return self.worker.submit(loaded_task, priority=priority, timeout_s=self.request_timeout_s)

    def describe(
        self, text: str, phoneme: bool = False, priority: Priority = Priority.INTERACTIVE
    ) -> concurrent.futures.Future[FrontendResult]:
        """How the engine reads ``text`` with the live dictionary (what jobs record, what the UI previews)."""
        return self.call(lambda engine: engine.describe_text(text, phoneme), priority)

    def set_pronunciations(self, entries: Sequence[tuple[str, str]]) -> concurrent.futures.Future[None]:
        """Make ``entries`` the live dictionary additions from the next request on (an engine not loaded
        yet gets them from the host's load hook)."""

        def apply(engine: Engine) -> None:
            if self.host.info is not None:
                engine.set_pronunciations(entries)

        return self.worker.submit(apply, timeout_s=self.request_timeout_s)

    def add_voice(
        self, name: str, clip: PromptClip, replace: bool = False
    ) -> concurrent.futures.Future[VoiceRecord]:
        """Store ``clip`` as voice ``name`` (features extracted on the model thread)."""
        return self.call(lambda engine: self.voices.add(engine, name, clip, replace))
