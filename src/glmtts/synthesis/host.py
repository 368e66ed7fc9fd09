"""The engine host: the one owner of loading, warm-up and lazy loading of the process's engine.

Loading runs on the model worker (the thread that owns the engine): ``engine.load``, the stored voices'
features, then the ``on_load`` hooks (the server applies its live pronunciation dictionary there). Eager
hosts (:meth:`EngineHost.start`) then warm up and turn READY; a lazy host stays in INIT and the first
request's task loads the engine before it runs (:meth:`EngineHost.ensure_loaded`), like upstream servers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from glmtts.engines.base import Engine, EngineInfo
from glmtts.errors import NotReadyError
from glmtts.synthesis.lifecycle import Lifecycle, Phase
from glmtts.synthesis.worker import ModelWorker
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
    ) -> None:
        self.worker = worker
        self.lifecycle = lifecycle
        self.voices = voices
        self.lazy = lazy
        self.on_load = list(on_load)
        self.info: EngineInfo | None = None

    # ------------------------------------------------------------------ on the model thread
    def load_on_worker(self, engine: Engine) -> EngineInfo:
        self.lifecycle.set_phase(Phase.LOADING)
        engine.load(progress=self.lifecycle.report_load)
        n_voices = self.voices.load_stored(engine)
        for hook in self.on_load:
            hook(engine)
        _LOGGER.info("engine %s loaded; %d stored voices ready", engine.name, n_voices)
        self.info = engine.info()
        return self.info

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
        """Queue the load on the worker."""
        return self.worker.submit(self.load_on_worker)

    def load_now(self) -> EngineInfo:
        """Load and turn READY without warm-up, blocking (one-shot processes: CLI, library use)."""
        self.worker.start()
        info = self.load().result()
        self.lifecycle.set_phase(Phase.READY)
        return info

    async def start(self, warmup: Callable[[], Awaitable[None]] | None = None) -> None:
        """INIT→LOADING→WARMING→READY; a failure is recorded in the lifecycle (phase FAILED)."""
        try:
            started = time.monotonic()
            await asyncio.wrap_future(self.load())
            self.lifecycle.set_phase(Phase.WARMING)
            if warmup is not None:
                await warmup()
            self.lifecycle.set_phase(Phase.READY)
            _LOGGER.info("ready after %.2f s", time.monotonic() - started)
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
