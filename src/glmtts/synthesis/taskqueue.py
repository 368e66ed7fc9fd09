"""The model worker's queue: work items by priority, bounded per priority, with deadline-aware tokens.

Plain tasks (``describe``, ``add_voice``, the engine load…) and stream tasks (a request's event generator)
wait in two heaps that share one order (priority, then arrival), so the serial loop takes them exactly
in submission order. The batching scheduler takes plain tasks whenever it is between steps and stream
tasks only while its batch has room (:meth:`TaskQueue.take`). Stream tasks the scheduler admitted count
as *in flight*; a priority's bound covers its waiting tasks plus its in-flight sequences (the serial loop
admits none, so there the bound is on waiting tasks alone, the one running not counted).
"""

from __future__ import annotations

import enum
import heapq
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from glmtts.engines.base import CancelToken, Engine
from glmtts.errors import CancelledError, NotReadyError, OverloadedError, RequestTimeoutError
from glmtts.synthesis.bridge import ChunkStream

#: A stream task: called on the model thread with the engine and the request's token; yields events.
StreamTask = Callable[[Engine, CancelToken], Iterator[Any]]


class Priority(enum.IntEnum):
    """Lower value runs first."""

    INTERACTIVE = 0
    BATCH = 1


@dataclass(frozen=True)
class QueueLimits:
    """Bounds per priority: waiting tasks plus (with a batching engine) sequences in the running batch."""

    interactive: int = 16
    batch: int = 256

    def limit(self, priority: Priority) -> int:
        return self.interactive if priority is Priority.INTERACTIVE else self.batch


class DeadlineCancelToken(CancelToken):
    """A cancel token that also reports cancelled once its deadline (monotonic seconds) has passed."""

    def __init__(self, deadline: float | None = None, parent: CancelToken | None = None) -> None:
        super().__init__()
        self.deadline = deadline
        self.parent = parent

    @property
    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    @property
    def cancelled(self) -> bool:
        parent_cancelled = self.parent is not None and self.parent.cancelled
        return super().cancelled or parent_cancelled or self.expired

    def raise_if_cancelled(self) -> None:
        if self.expired:
            raise RequestTimeoutError("request timed out (deadline counted from enqueue)")
        if self.cancelled:
            raise CancelledError("synthesis was cancelled")


def translate_error(exc: BaseException, token: DeadlineCancelToken) -> BaseException:
    """Report a cancellation caused by the deadline as a timeout."""
    if isinstance(exc, CancelledError) and token.expired:
        return RequestTimeoutError("request timed out (deadline counted from enqueue)")
    return exc


def close_steps(items: Iterator[Any]) -> None:
    """Close a stream task's generator (a batching engine releases the sequence's slot at once)."""
    close = getattr(items, "close", None)
    if close is not None:
        close()


@dataclass(order=True)
class WorkItem:
    """One queued task. ``run`` runs it whole (serial loop); stream tasks also carry ``steps`` and
    ``stream`` so the batching scheduler can drive their generator itself."""

    priority: int
    sequence: int
    run: Callable[[Engine], None] = field(compare=False)
    fail: Callable[[BaseException], None] = field(compare=False)
    token: DeadlineCancelToken = field(compare=False)
    enqueued_at: float = field(compare=False)
    steps: StreamTask | None = field(default=None, compare=False)
    stream: ChunkStream[Any] | None = field(default=None, compare=False)

    @property
    def level(self) -> Priority:
        return Priority(self.priority)

    def queue_timeout(self) -> RequestTimeoutError:
        waited_s = time.monotonic() - self.enqueued_at
        return RequestTimeoutError(f"request timed out after waiting {waited_s:.1f} s in the queue")


class TaskQueue:
    """Two heaps in one order, bounded per priority; thread-safe (see the module docstring)."""

    def __init__(self, limits: QueueLimits) -> None:
        self.limits = limits
        self._tasks: list[WorkItem] = []
        self._streams: list[WorkItem] = []
        self._waiting = dict.fromkeys(Priority, 0)
        self._in_flight = dict.fromkeys(Priority, 0)
        self._condition = threading.Condition()
        self._accepting = True
        self._stopping = False
        #: Seconds of model time one task takes on average (a batch's sequences share a step).
        self.mean_service_s = 0.5

    # ------------------------------------------------------------------ producers
    def push(self, item: WorkItem) -> None:
        """Queue ``item``; raise :class:`OverloadedError` when its priority is at its bound."""
        priority = item.level
        with self._condition:
            if not self._accepting:
                raise NotReadyError("server is shutting down")
            limit = self.limits.limit(priority)
            n_held = self._waiting[priority] + self._in_flight[priority]
            if n_held >= limit:
                retry_after_s = max(1.0, self.mean_service_s * (self._waiting[priority] + 1))
                raise OverloadedError(
                    f"{priority.name.lower()} queue is full ({limit} waiting or in flight); retry later",
                    retry_after_s=round(retry_after_s, 1),
                )
            heapq.heappush(self._streams if item.steps is not None else self._tasks, item)
            self._waiting[priority] += 1
            self._condition.notify()

    def close(self, drain: bool) -> None:
        """Stop accepting; fail the waiting tasks unless ``drain``; let the consumer end once empty."""
        with self._condition:
            self._accepting = False
            if not drain:
                for heap in (self._tasks, self._streams):
                    while heap:
                        self._pop(heap).fail(NotReadyError("server is shutting down"))
            self._stopping = True
            self._condition.notify_all()

    # ------------------------------------------------------------------ the model thread
    def pop(self) -> WorkItem | None:
        """The next task of either kind, waiting for one; None once closed and empty."""
        with self._condition:
            while not (self._tasks or self._streams) and not self._stopping:
                self._condition.wait()
            return self._next(room=True)

    def take(self, room: bool) -> WorkItem | None:
        """Without waiting: the next task in order, skipping stream tasks unless ``room``; a stream task
        taken counts as in flight until :meth:`left`."""
        with self._condition:
            item = self._next(room)
            if item is not None and item.steps is not None:
                self._in_flight[item.level] += 1
            return item

    def joined(self, item: WorkItem) -> None:
        """A stream task taken with :meth:`pop` joins a batch (counts as in flight until :meth:`left`)."""
        with self._condition:
            self._in_flight[item.level] += 1

    def left(self, item: WorkItem) -> None:
        """A sequence taken with :meth:`take` has left the batch."""
        with self._condition:
            self._in_flight[item.level] -= 1

    def record_service(self, seconds: float) -> None:
        self.mean_service_s = 0.8 * self.mean_service_s + 0.2 * seconds

    def _next(self, room: bool) -> WorkItem | None:
        heaps = [self._tasks, self._streams] if room else [self._tasks]
        candidates = [heap for heap in heaps if heap]
        if not candidates:
            return None
        return self._pop(min(candidates, key=lambda heap: heap[0]))

    def _pop(self, heap: list[WorkItem]) -> WorkItem:
        item = heapq.heappop(heap)
        self._waiting[item.level] -= 1
        return item

    # ------------------------------------------------------------------ from any thread
    def depth(self, priority: Priority | None = None) -> int:
        """Tasks waiting (all priorities when ``priority`` is None)."""
        with self._condition:
            return sum(self._waiting.values()) if priority is None else self._waiting[priority]

    def in_flight(self, priority: Priority | None = None) -> int:
        """Sequences in the running batch (all priorities when ``priority`` is None)."""
        with self._condition:
            return sum(self._in_flight.values()) if priority is None else self._in_flight[priority]
