"""Start-up timing: one recorder of named, possibly overlapping steps, shown as a table.

A process that starts a server builds one :class:`StartupTimer` (the composition owns it) and times its
steps with :meth:`StartupTimer.step`. Code that does not know the timer (an engine's ``load``) marks its
own sub-steps with the module-level :func:`step`, which records into the timer made current for this
thread by :func:`recording` (and does nothing otherwise). Steps keep their start offset, duration, depth
and thread, so steps run in parallel show as overlapping rows.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TimedStep:
    """One finished step: offsets in seconds from the timer's origin."""

    name: str
    start_s: float
    seconds: float
    depth: int
    thread: str
    detail: str = ""
    #: Start offsets of the enclosing steps, outermost first (orders a step under its parent).
    parents: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "start_s": round(self.start_s, 3),
            "seconds": round(self.seconds, 3),
            "depth": self.depth,
            "thread": self.thread,
            "detail": self.detail,
        }


#: The timer steps record into in this context, and the start offsets of the steps open around them.
_CURRENT: contextvars.ContextVar[tuple[StartupTimer, tuple[float, ...]] | None] = contextvars.ContextVar(
    "glmtts_startup_timer", default=None
)


def process_started_at() -> float:
    """When this process started, on the :func:`time.monotonic` clock (now, if that cannot be known)."""
    now_wall, now_mono = time.time(), time.monotonic()
    try:
        import psutil

        return now_mono - max(0.0, now_wall - psutil.Process().create_time())
    except (ImportError, OSError):  # psutil is optional; without it the table starts at the timer
        return now_mono


class StartupTimer:
    """Thread-safe record of the start-up steps of one process (see the module docstring)."""

    def __init__(self, origin: float | None = None) -> None:
        #: Monotonic time the offsets count from (the process start, by default).
        self.origin = process_started_at() if origin is None else origin
        self._lock = threading.Lock()
        self._steps: list[TimedStep] = []
        self._marks: dict[str, float] = {}

    def elapsed(self) -> float:
        """Seconds since the origin."""
        return time.monotonic() - self.origin

    def add(
        self,
        name: str,
        started: float,
        ended: float,
        detail: str = "",
        parents: tuple[float, ...] = (),
    ) -> None:
        """Record a step measured elsewhere (monotonic ``started`` / ``ended``)."""
        thread = threading.current_thread().name
        entry = TimedStep(name, started - self.origin, ended - started, len(parents), thread, detail, parents)
        with self._lock:
            self._steps.append(entry)

    @contextlib.contextmanager
    def step(self, name: str, detail: str = "") -> Iterator[None]:
        """Time the block as ``name``; :func:`step` calls inside it (this thread) nest under it."""
        current = _CURRENT.get()
        parents = current[1] if current is not None and current[0] is self else ()
        started = time.monotonic()
        token = _CURRENT.set((self, (*parents, started - self.origin)))
        try:
            yield
        finally:
            _CURRENT.reset(token)
            self.add(name, started, time.monotonic(), detail, parents)

    def mark(self, name: str) -> None:
        """Remember when a moment happened (e.g. ``ready``), as an offset from the origin."""
        with self._lock:
            self._marks[name] = self.elapsed()

    def steps(self) -> list[TimedStep]:
        """Finished steps in start order, each right after the step it ran inside."""
        with self._lock:
            return sorted(self._steps, key=lambda s: (*s.parents, s.start_s))

    def to_json(self) -> dict[str, Any]:
        """The ``startup`` section of ``/v1/status``."""
        with self._lock:
            marks = {name: round(offset, 3) for name, offset in self._marks.items()}
        return {"steps": [s.to_json() for s in self.steps()], "marks": marks}

    def table(self) -> str:
        """A fixed-width table of the steps, for the startup log."""
        rows = [f"{'step':<36}{'start s':>9}{'took s':>9}  thread"]
        for entry in self.steps():
            name = "  " * entry.depth + entry.name + (f" ({entry.detail})" if entry.detail else "")
            rows.append(f"{name:<36}{entry.start_s:>9.2f}{entry.seconds:>9.2f}  {entry.thread}")
        with self._lock:
            rows += [f"{name:<36}{offset:>9.2f}" for name, offset in self._marks.items()]
        return "\n".join(rows)


@contextlib.contextmanager
def recording(timer: StartupTimer | None) -> Iterator[None]:
    """Make ``timer`` the one :func:`step` records into, in this thread (and contexts copied from it)."""
    if timer is None:
        yield
        return
    token = _CURRENT.set((timer, ()))
    try:
        yield
    finally:
        _CURRENT.reset(token)


@contextlib.contextmanager
def step(name: str, detail: str = "") -> Iterator[None]:
    """Time the block into the current timer (see :func:`recording`); without one, just run it."""
    current = _CURRENT.get()
    if current is None:
        yield
        return
    with current[0].step(name, detail):
        yield
