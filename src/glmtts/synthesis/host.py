"""The engine host: the one owner of loading, warm-up and lazy loading of the process's engine.

Loading runs on the model worker (the thread that owns the engine): ``engine.load``, the stored voices'
features, then the ``on_load`` hooks (the server applies its live pronunciation dictionary there). The
stored voices' features are read from disk on a helper thread meanwhile. Eager hosts
(:meth:`EngineHost.start`) then warm up and turn READY; a lazy host stays in INIT and the first request's
task loads the engine before it runs (:meth:`EngineHost.ensure_loaded`), like upstream servers.

:meth:`EngineHost.load` is idempotent: a server queues the load as soon as the host exists, builds its web
app while the engine loads, and :meth:`EngineHost.start` then awaits the same load. Every step is timed
into the host's :class:`~glmtts.timing.StartupTimer` (engines add their own sub-steps with
:func:`glmtts.timing.step`); the table is logged once READY.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence

from glmtts.engines.base import Engine, EngineInfo
from glmtts.engines.batching import BatchLimits
from glmtts.errors import NotReadyError
from glmtts.synthesis.lifecycle import Lifecycle, Phase
from glmtts.synthesis.worker import ModelWorker
from glmtts.timing import StartupTimer, recording, step
from glmtts.voices import VoiceLibrary

_LOGGER = logging.getLogger(__name__)

#: Called on the model thread once the engine is loaded.
LoadHook = Callable[[Engine], None]


class EngineHost:
    """Loads the engine once, on the worker; tells front ends whether requests can run now."""

    def __init__(
        self,
        worker: ModelWorker,
        lifecycle: Lifecycle,
        voices: VoiceLibrary,
        *,
        lazy: bool = False,
        on_load: Sequence[LoadHook] = (),
        timer: StartupTimer | None = None,
    ) -> None:
        self.worker = worker
        self.lifecycle = lifecycle
        self.voices = voices
        self.lazy = lazy
        self.on_load = list(on_load)
        self.timer = timer or StartupTimer()
        self.info: EngineInfo | None = None
        #: The loaded engine's per-step limits (``max_sequences=1``: it does not batch).
        self.batch_limits = BatchLimits()
        self._load_future: concurrent.futures.Future[EngineInfo] | None = None
        self._load_lock = threading.Lock()

    # ------------------------------------------------------------------ on the model thread
    def load_on_worker(self, engine: Engine) -> EngineInfo:
        self.lifecycle.set_phase(Phase.LOADING)
        with recording(self.timer):
            reader = threading.Thread(
                target=contextvars.copy_context().run,
                args=(self._read_stored_voices,),
                name="voices-reader",
                daemon=True,
            )
            reader.start()
            with step("engine load", engine.name):
                engine.load(progress=self.lifecycle.report_load)
            reader.join()
            with step("stored voices ready"):
                n_voices = self.voices.load_stored(engine)
            with step("on-load hooks"):
                for hook in self.on_load:
                    hook(engine)
        _LOGGER.info("engine %s loaded; %d stored voices ready", engine.name, n_voices)
        self.info = engine.info()
        if self.info.capabilities.batching:
            self.batch_limits = engine.batch_limits()
        return self.info

    def _read_stored_voices(self) -> None:
        """Read the stored voices' features from disk (no engine needed), beside the engine load."""
        with step("voices read from disk"):
            self.voices.read_stored()

    def ensure_loaded(self, engine: Engine) -> None:
        """Run before every request on the worker: lazy hosts load here; a sleeping one refuses."""
        if self.info is None and self.lazy:
            self.load_on_worker(engine)
            self.lifecycle.set_phase(Phase.READY)
        if self.lifecycle.phase is Phase.SLEEPING:
            raise NotReadyError("the server is sleeping; POST /v1/admin/wake first")
        if self.info is None:
            raise NotReadyError("the engine is not loaded yet")

    # ------------------------------------------------------------------ from any thread
    def load(self) -> concurrent.futures.Future[EngineInfo]:
        """Queue the load on the worker (once: later calls return the same future)."""
        with self._load_lock:
            if self._load_future is None:
                self._load_future = self.worker.submit(self.load_on_worker)
            return self._load_future

    def load_now(self) -> EngineInfo:
        """Load and turn READY without warm-up, blocking (one-shot processes: CLI, library use)."""
        self.worker.start()
        info = self.load().result()
        self.lifecycle.set_phase(Phase.READY)
        return info

    async def start(self, warmup: Callable[[], Awaitable[None]] | None = None) -> None:
        """INIT→LOADING→WARMING→READY; a failure is recorded in the lifecycle (phase FAILED)."""
        try:
            await asyncio.wrap_future(self.load())
            self.lifecycle.set_phase(Phase.WARMING)
            if warmup is not None:
                with self.timer.step("warm-up"):
                    await warmup()
            self.timer.mark("ready")
            self.lifecycle.set_phase(Phase.READY)
            _LOGGER.info(
                "ready %.2f s after the process started; start-up steps:\n%s",
                self.timer.elapsed(),
                self.timer.table(),
            )
        except Exception as exc:  # boundary: a start-up failure stops the server with the reason
            _LOGGER.error(
                "start-up failed: %s: %s",
                type(exc).__name__,
                exc,
                exc_info=_LOGGER.isEnabledFor(logging.DEBUG),
            )
            self.lifecycle.fail(exc)

    def check_ready(self) -> None:
        """Raise :class:`NotReadyError` unless requests can be queued now (a lazy host loads on demand)."""
        phase = self.lifecycle.phase
        if self.lifecycle.ready or (self.lazy and phase in (Phase.INIT, Phase.LOADING)):
            return
        raise NotReadyError(f"the server is not ready (phase: {phase.value})")

    @property
    def ready_for_requests(self) -> bool:
        try:
            self.check_ready()
        except NotReadyError:
            return False
        return True

    def builtin_voices(self) -> tuple[str, ...]:
        """The engine's built-in voices (a static list: known before the engine loads)."""
        return self.info.builtin_voices if self.info is not None else self.worker.engine.builtin_voices()

    @property
    def sample_rate(self) -> int:
        if self.info is None:
            raise NotReadyError("the engine is not loaded yet")
        return self.info.sample_rate
