"""The server's composition: everything one server holds, built statically from :class:`ServeSettings`.

``build_services(settings)`` creates the engine (not loaded) and the synthesis runtime around it (worker,
voice subsystem, engine host, service), then what only a server has: metrics, memory control, the
editable pronunciation entries and the batch job manager. It imports neither FastAPI nor Gradio, so any
process can build it from plain settings. ``start`` / ``stop`` run the lifecycle; ``begin_load`` queues the
engine load early (``glmtts serve`` builds its web app while the engine loads). The start-up timer
(:attr:`Services.startup`) is shown in ``/v1/status`` (``startup``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from glmtts.engines.base import Engine
from glmtts.engines.registry import create_engine
from glmtts.jobs.manager import JobManager
from glmtts.serving.memory import MemoryControl
from glmtts.serving.metrics import ServingMetrics
from glmtts.serving.pronunciations import PronunciationStore
from glmtts.serving.settings import ServeSettings
from glmtts.synthesis import Lifecycle, Phase, Priority, Runtime, SynthesisService, build_runtime
from glmtts.synthesis.warmup import Step, Warmup
from glmtts.timing import StartupTimer
from glmtts.voices import VoiceLibrary

_LOGGER = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a front end needs; one instance per server."""

    settings: ServeSettings
    runtime: Runtime
    metrics: ServingMetrics
    memory: MemoryControl
    pronunciations: PronunciationStore
    jobs: JobManager
    #: Set by the app factory: warm-up requests through the HTTP layer, run before READY.
    http_warmup: Callable[[], Awaitable[None]] | None = None
    #: Requests carrying this token in ``X-Glmtts-Warmup`` pass the readiness gate (warm-up only).
    warmup_token: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    #: Extra conditions of ``/ready`` beyond this process's own (a fleet's minimum of warm replicas): each
    #: returns None when met, else the reason the server is not ready yet.
    ready_gates: list[Callable[[], Awaitable[str | None]]] = field(default_factory=list)
    _start_task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def service(self) -> SynthesisService:
        return self.runtime.service

    @property
    def voices(self) -> VoiceLibrary:
        return self.runtime.voices

    @property
    def lifecycle(self) -> Lifecycle:
        return self.runtime.lifecycle

    @property
    def startup(self) -> StartupTimer:
        """The start-up steps of this server (process start to READY)."""
        return self.runtime.host.timer

    def status(self) -> dict[str, Any]:
        """The ``/v1/status`` document."""
        info = self.runtime.host.info
        worker = self.runtime.worker
        settings = self.settings
        return {
            **self.lifecycle.snapshot(),
            "engine": settings.engine,
            "device": info.device if info else settings.device,
            "dtype": info.dtype if info else settings.dtype,
            "dtypes": dict(info.details.get("dtypes", {})) if info else {},
            "llm_quant": info.details.get("llm_quant", "none") if info else settings.llm_quant,
            "quantization": info.details.get("quantization") if info else None,
            "sample_rate": info.sample_rate if info else None,
            "capabilities": info.capabilities.to_json() if info else None,
            "builtin_voices": list(info.builtin_voices) if info else [],
            "n_stored_voices": len(self.voices.store.list()),
            "queue": {
                "interactive": worker.depth(Priority.INTERACTIVE),
                "batch": worker.depth(Priority.BATCH),
                "max_interactive": worker.limits.interactive,
                "max_batch": worker.limits.batch,
                "busy": worker.busy,
            },
            "batch": self._batch_status(),
            "memory": self.memory.snapshot(),
            "lazy": settings.lazy,
            "startup": self.startup.to_json(),
        }

    def _batch_status(self) -> dict[str, Any]:
        """Continuous batching: the engine's limits, the batch now, step counts and rates, KV bytes."""
        host, worker = self.runtime.host, self.runtime.worker
        limits = host.batch_limits
        return {
            "enabled": bool(host.info and host.info.capabilities.batching and limits.max_sequences > 1),
            "limits": dataclasses.asdict(limits),
            "in_flight": {p.name.lower(): worker.in_flight(p) for p in Priority},
            **worker.steps.snapshot(),
            "kv_cache_bytes": self.memory.engine_bytes.get("kv_cache", 0),
        }

    def begin_load(self) -> None:
        """Start the worker and queue the engine load now (no-op when lazy); :meth:`start` awaits it."""
        if not self.settings.lazy:
            self.runtime.worker.start()
            self.runtime.host.load()

    async def start(self) -> None:
        """Start the worker and, unless lazy, load + warm up in the background (``/ready`` turns 200 after)."""
        self.startup.mark("app started (/health answers)")
        self.runtime.worker.start()
        if self.settings.lazy:
            self.jobs.start()
            return
        self._start_task = asyncio.create_task(self._start_then_jobs())

    async def wait_started(self) -> None:
        """Await the load and warm-up :meth:`start` runs in the background; raise its failure, if any.

        A Ray replica's constructor ends with this, so Ray routes to a replica only once it is warm.
        """
        if self._start_task is not None:
            await asyncio.shield(self._start_task)
        failure = self.lifecycle.failure
        if failure is not None:
            raise RuntimeError(f"start-up failed: {type(failure).__name__}: {failure}") from failure

    async def _start_then_jobs(self) -> None:
        extra: list[Step] = [("http", self.http_warmup)] if self.http_warmup is not None else []
        warmup = Warmup(self.service, self.settings.warmup_rounds, extra)
        await self.runtime.host.start(warmup.run)
        if self.lifecycle.ready:
            self.runtime.worker.submit(self.memory.refresh)
            await asyncio.to_thread(self.jobs.start)

    async def stop(self) -> None:
        """Drain: stop jobs, finish queued work, stop the worker."""
        if self.lifecycle.phase not in (Phase.FAILED, Phase.DRAINING):
            self.lifecycle.set_phase(Phase.DRAINING)
        if self._start_task is not None and not self._start_task.done():
            self._start_task.cancel()
        await asyncio.to_thread(self.jobs.stop)
        await asyncio.to_thread(self.runtime.worker.stop, True, self.settings.drain_timeout_s)
        gc.unfreeze()  # what the warm-up froze (settle_heap) can be collected again once the service is gone


def build_services(
    settings: ServeSettings, engine: Engine | None = None, timer: StartupTimer | None = None
) -> Services:
    """Build (without loading anything heavy) the services described by ``settings``; ``timer`` (made
    at process start by ``glmtts serve``) records the start-up steps."""
    engine = engine or create_engine(settings.engine_config())
    metrics = ServingMetrics()
    pronunciations = PronunciationStore(settings.pronunciations_path)
    runtime = build_runtime(
        engine,
        settings.runtime_config(),
        observer=lambda request, summary: metrics.observe_synthesis(
            request.route, summary, request.options.stream
        ),
        task_observer=lambda priority, wait_s, _run_s: metrics.observe_task(priority.name.lower(), wait_s),
        step_observer=metrics.observe_step,
        on_load=[lambda loaded: loaded.set_pronunciations(pronunciations.entries())],
        timer=timer,
    )
    memory = MemoryControl(runtime)
    metrics.bind_state(
        lambda: runtime.lifecycle.phase,
        lambda: {p.name.lower(): runtime.worker.depth(p) for p in Priority},
        memory.snapshot,
        lambda: {p.name.lower(): runtime.worker.in_flight(p) for p in Priority},
    )
    if settings.max_batch is not None and settings.max_queue < settings.max_batch:
        _LOGGER.warning(
            "max_queue %d < max_batch %d: the batch counts against the queue bound, so at most %d "
            "interactive requests are decoded together",
            settings.max_queue,
            settings.max_batch,
            settings.max_queue,
        )
    jobs = JobManager(settings.workdir, runtime.service)
    return Services(settings, runtime, metrics, memory, pronunciations, jobs)
