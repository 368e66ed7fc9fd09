"""The service objects of one server, built from :class:`ServeSettings` and shared by API, UI and jobs.

``build_services(settings)`` creates the engine (not loaded), the model worker, the voices store, the
pronunciation dictionary, the TTS service, memory control and metrics. ``start`` / ``stop`` run the
lifecycle. Nothing here imports FastAPI or Gradio, so the UI and the jobs runner can use it directly.

Jobs hook: if :mod:`glmtts.jobs.manager` is importable, ``build_services`` makes the job manager with
exactly this call::

    JobManager(workdir=settings.workdir, worker=worker, voice_store=voices, service=tts)

and the lifecycle calls ``manager.start()`` once the server is READY and ``manager.stop()`` while draining
(either may be a coroutine function; a blocking one runs in a thread). It is available as ``services.jobs`` (None without the module).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from glmtts.engines.base import Engine
from glmtts.engines.registry import create_engine, register_engine
from glmtts.serving.lifecycle import Lifecycle, Phase
from glmtts.serving.memory import MemoryControl
from glmtts.serving.metrics import ServingMetrics
from glmtts.serving.pronunciations import PronunciationStore
from glmtts.serving.service import TTSService
from glmtts.serving.settings import ServeSettings
from glmtts.serving.startup import start_service
from glmtts.serving.worker import ModelWorker, Priority, QueueLimits
from glmtts.voices import VoiceStore

_LOGGER = logging.getLogger(__name__)
JOBS_MODULE = "glmtts.jobs.manager"


@dataclass
class Services:
    """Everything a front end needs; one instance per server."""

    settings: ServeSettings
    lifecycle: Lifecycle
    worker: ModelWorker
    voices: VoiceStore
    pronunciations: PronunciationStore
    tts: TTSService
    memory: MemoryControl
    metrics: ServingMetrics
    jobs: Any | None = None
    #: Set by the app factory: warm-up requests through the HTTP layer, run before READY.
    http_warmup: Callable[[], Awaitable[None]] | None = None
    #: Requests carrying this token in ``X-Glmtts-Warmup`` pass the readiness gate (warm-up only).
    warmup_token: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    _start_task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        """The engine; only the model thread may call it (use ``worker.submit``)."""
        return self.worker.engine

    def status(self) -> dict[str, Any]:
        """The ``/v1/status`` document."""
        info = self.tts.engine_info
        return {
            **self.lifecycle.snapshot(),
            "engine": self.settings.engine,
            "device": info.device if info else self.settings.device,
            "dtype": info.dtype if info else self.settings.dtype,
            "sample_rate": info.sample_rate if info else None,
            "builtin_voices": list(info.builtin_voices) if info else [],
            "n_stored_voices": len(self.voices.list()),
            "queue": {
                "interactive": self.worker.depth(Priority.INTERACTIVE),
                "batch": self.worker.depth(Priority.BATCH),
                "max_interactive": self.worker.limits.interactive,
                "max_batch": self.worker.limits.batch,
                "busy": self.worker.busy,
            },
            "memory": self.memory.snapshot(),
            "lazy": self.settings.lazy,
        }

    async def start(self) -> None:
        """Start the worker and, unless lazy, load + warm up in the background (``/ready`` turns 200 after)."""
        self.worker.start()
        if self.settings.lazy:
            return
        self._start_task = asyncio.create_task(self._start_then_jobs())

    async def _start_then_jobs(self) -> None:
        await start_service(self.tts, self.http_warmup)
        if self.lifecycle.ready:
            self.worker.submit(self.memory.refresh)
            if self.jobs is not None and hasattr(self.jobs, "start"):
                await _call_maybe_async(self.jobs.start)

    async def stop(self) -> None:
        """Drain: stop jobs, finish queued work, stop the worker."""
        if self.lifecycle.phase not in (Phase.FAILED, Phase.DRAINING):
            self.lifecycle.set_phase(Phase.DRAINING)
        if self._start_task is not None and not self._start_task.done():
            self._start_task.cancel()
        if self.jobs is not None and hasattr(self.jobs, "stop"):
            await _call_maybe_async(self.jobs.stop)
        await asyncio.to_thread(self.worker.stop, True, self.settings.drain_timeout_s)


async def _call_maybe_async(method: Any) -> Any:
    """Await a coroutine method; run a blocking one in a thread so the event loop keeps serving."""
    if inspect.iscoroutinefunction(method):
        return await method()
    return await asyncio.to_thread(method)


def build_services(settings: ServeSettings, engine: Engine | None = None) -> Services:
    """Build (without loading anything heavy) the services described by ``settings``."""
    if settings.engine_class:
        register_engine(settings.engine, settings.engine_class)
    engine = engine or create_engine(settings.engine_config())
    lifecycle = Lifecycle()
    metrics = ServingMetrics()
    worker = ModelWorker(
        engine,
        QueueLimits(interactive=settings.max_queue, batch=settings.max_batch_queue),
        observer=lambda priority, wait_s, _run_s: metrics.observe_task(priority.name.lower(), wait_s),
    )
    voices = VoiceStore(
        settings.voices_dir, engine.name or settings.engine, cache_size=settings.voice_cache_size
    )
    pronunciations = PronunciationStore(settings.pronunciations_path)
    tts = TTSService(settings, lifecycle, worker, voices, pronunciations, metrics=metrics)
    memory = MemoryControl(worker, lifecycle, voices)
    metrics.bind_state(
        lambda: lifecycle.phase,
        lambda: {p.name.lower(): worker.depth(p) for p in Priority},
        memory.snapshot,
    )
    services = Services(settings, lifecycle, worker, voices, pronunciations, tts, memory, metrics)
    services.jobs = _build_jobs(services)
    return services


def _build_jobs(services: Services) -> Any | None:
    if importlib.util.find_spec("glmtts.jobs") is None or importlib.util.find_spec(JOBS_MODULE) is None:
        return None
    module = importlib.import_module(JOBS_MODULE)
    return module.JobManager(
        workdir=services.settings.workdir,
        worker=services.worker,
        voice_store=services.voices,
        service=services.tts,
    )
