"""Phases of a runtime INIT→LOADING→WARMING→READY(→SLEEPING)→DRAINING, with load and warm-up progress.

:class:`Lifecycle` is the thread-safe record of where the engine host is; the worker thread writes it,
front ends and metrics read :meth:`Lifecycle.snapshot`. A start-up failure is kept in :attr:`Lifecycle.failure` and
reported to the registered ``on_failure`` callbacks (the CLI uses one to stop uvicorn and exit non-zero).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_LOGGER = logging.getLogger(__name__)


class Phase(str, enum.Enum):
    INIT = "init"
    LOADING = "loading"
    WARMING = "warming"
    READY = "ready"
    SLEEPING = "sleeping"
    DRAINING = "draining"
    FAILED = "failed"


@dataclass
class ComponentProgress:
    """Bytes loaded of one model component (``total_bytes`` 0 when unknown)."""

    loaded_bytes: int = 0
    total_bytes: int = 0


class Lifecycle:
    """Current phase, time in phase, load/warm-up progress and a start-up failure, guarded by a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._phase = Phase.INIT
        self._since = time.monotonic()
        self._started = self._since
        #: Wall-clock time of construction (for documents that show a creation time).
        self.started_at = time.time()
        self._components: dict[str, ComponentProgress] = {}
        self._warmup_done = 0
        self._warmup_total = 0
        self._warmup_step = ""
        self._phase_seconds: dict[str, float] = {}
        self.failure: BaseException | None = None
        self._on_failure: list[Callable[[BaseException], None]] = []

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def ready(self) -> bool:
        return self._phase is Phase.READY

    def set_phase(self, phase: Phase) -> None:
        with self._lock:
            now = time.monotonic()
            self._phase_seconds[self._phase.value] = now - self._since
            _LOGGER.info("phase %s -> %s after %.2f s", self._phase.value, phase.value, now - self._since)
            self._phase, self._since = phase, now

    def on_failure(self, callback: Callable[[BaseException], None]) -> None:
        """Register a callback run (on the worker thread) when start-up fails."""
        self._on_failure.append(callback)

    def fail(self, exc: BaseException) -> None:
        """Record a start-up failure and notify the callbacks."""
        self.failure = exc
        self.set_phase(Phase.FAILED)
        for callback in self._on_failure:
            callback(exc)

    def report_load(self, component: str, loaded_bytes: int, total_bytes: int) -> None:
        """Engine load progress callback (see :data:`glmtts.engines.base.ProgressCallback`)."""
        with self._lock:
            self._components[component] = ComponentProgress(loaded_bytes, total_bytes)

    def start_warmup(self, n_steps: int) -> None:
        with self._lock:
            self._warmup_total, self._warmup_done = n_steps, 0

    def report_warmup(self, step: str) -> None:
        with self._lock:
            self._warmup_done += 1
            self._warmup_step = step

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready view for ``/v1/status``."""
        with self._lock:
            components = {
                name: {"loaded_bytes": p.loaded_bytes, "total_bytes": p.total_bytes}
                for name, p in self._components.items()
            }
            return {
                "phase": self._phase.value,
                "seconds_in_phase": round(time.monotonic() - self._since, 3),
                "uptime_s": round(time.monotonic() - self._started, 3),
                "phase_seconds": {k: round(v, 3) for k, v in self._phase_seconds.items()},
                "load": {
                    "components": components,
                    "loaded_bytes": sum(p.loaded_bytes for p in self._components.values()),
                    "total_bytes": sum(p.total_bytes for p in self._components.values()),
                },
                "warmup": {"done": self._warmup_done, "total": self._warmup_total, "step": self._warmup_step},
                "error": None if self.failure is None else f"{type(self.failure).__name__}: {self.failure}",
            }
