"""The one thread that owns the engine, fed by a bounded priority queue.

Front ends never touch the engine: they :meth:`ModelWorker.submit`
a task (``Callable[[Engine], T]``) and get a :class:`concurrent.futures.Future`, or
:meth:`ModelWorker.submit_stream` a generator task and consume its items from sync or async code through a
:class:`ChunkStream`. Interactive tasks run before batch tasks; each priority has its own queue bound, and a
full queue raises :class:`~glmtts.errors.OverloadedError` at submit time. Timeouts count from enqueue: a task
still waiting at its deadline fails with :class:`~glmtts.errors.RequestTimeoutError` without running, and a
running task sees its :class:`~glmtts.engines.base.CancelToken` turn cancelled at the deadline.
"""

from __future__ import annotations

import concurrent.futures
import enum
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from glmtts.engines.base import CancelToken, Engine
from glmtts.errors import CancelledError, NotReadyError, OverloadedError, RequestTimeoutError
from glmtts.synthesis.bridge import ChunkStream

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

#: Called after each task with (priority, queue wait seconds, run seconds).
TaskObserver = Callable[["Priority", float, float], None]


class Priority(enum.IntEnum):
    """Lower value runs first."""

    INTERACTIVE = 0
    BATCH = 1


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


@dataclass(order=True)
class _WorkItem:
    priority: int
    sequence: int
    run: Callable[[Engine], None] = field(compare=False)
    fail: Callable[[BaseException], None] = field(compare=False)
    token: DeadlineCancelToken = field(compare=False)
    enqueued_at: float = field(compare=False)


@dataclass(frozen=True)
class QueueLimits:
    """Queue bounds per priority (waiting tasks, not counting the one running)."""

    interactive: int = 16
    batch: int = 256

    def limit(self, priority: Priority) -> int:
        return self.interactive if priority is Priority.INTERACTIVE else self.batch


class ModelWorker:
    """Owns an engine on one dedicated thread; runs submitted tasks one at a time by priority."""

    def __init__(
        self,
        engine: Engine,
        limits: QueueLimits | None = None,
        observer: TaskObserver | None = None,
        name: str = "glmtts-model",
    ) -> None:
        self.engine = engine
        self.limits = limits or QueueLimits()
        self._observer = observer
        self._heap: list[_WorkItem] = []
        self._waiting = dict.fromkeys(Priority, 0)
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._accepting = True
        self._stopping = False
        self._busy = False
        self._mean_run_s = 0.5
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if not self._thread.is_alive():
            self._thread.start()

    def stop(self, drain: bool = True, timeout_s: float | None = 30.0) -> None:
        """Stop accepting work; finish queued tasks when ``drain`` (else fail them), then join the thread."""
        with self._condition:
            self._accepting = False
            if not drain:
                self._fail_waiting(NotReadyError("server is shutting down"))
            self._stopping = True
            self._condition.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def depth(self, priority: Priority | None = None) -> int:
        """Number of tasks waiting (all priorities when ``priority`` is None)."""
        with self._condition:
            if priority is None:
                return sum(self._waiting.values())
            return self._waiting[priority]

    @property
    def busy(self) -> bool:
        return self._busy

    # ------------------------------------------------------------------ submission
    def submit(
        self,
        task: Callable[[Engine], T],
        *,
        priority: Priority = Priority.INTERACTIVE,
        timeout_s: float | None = None,
        cancel: CancelToken | None = None,
    ) -> concurrent.futures.Future[T]:
        """Queue ``task(engine)``; raise :class:`OverloadedError` when this priority's queue is full.

        The task may read ``token`` via :func:`current_token` if it needs the deadline-aware cancel token.
        """
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        token = self._token(timeout_s, cancel)

        def run(engine: Engine) -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                token.raise_if_cancelled()
                result = _call_with_token(task, engine, token)
            except BaseException as exc:  # boundary: hand every failure to the waiting caller
                future.set_exception(_translate(exc, token))
            else:
                future.set_result(result)

        def fail(exc: BaseException) -> None:
            if future.set_running_or_notify_cancel():
                future.set_exception(exc)

        self._enqueue(run, fail, token, priority)
        return future

    def submit_stream(
        self,
        task: Callable[[Engine, CancelToken], Iterator[Any]],
        *,
        priority: Priority = Priority.INTERACTIVE,
        timeout_s: float | None = None,
        cancel: CancelToken | None = None,
    ) -> ChunkStream[Any]:
        """Queue a generator task ``task(engine, token)``; its items arrive on the returned stream.

        Create the stream inside a running event loop to consume it with ``async for``; otherwise iterate it
        from a thread. Cancelling the stream (e.g. on client disconnect) stops the task between items.
        """
        token = self._token(timeout_s, cancel)
        stream: ChunkStream[Any] = ChunkStream(token)

        def run(engine: Engine) -> None:
            try:
                token.raise_if_cancelled()
                for item in task(engine, token):
                    token.raise_if_cancelled()
                    stream.put(item)
            except BaseException as exc:  # boundary: the consumer re-raises it
                stream.fail(_translate(exc, token))
            else:
                stream.finish()

        self._enqueue(run, stream.fail, token, priority)
        return stream

    def _token(self, timeout_s: float | None, cancel: CancelToken | None) -> DeadlineCancelToken:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        return DeadlineCancelToken(deadline, parent=cancel)

    def _enqueue(
        self,
        run: Callable[[Engine], None],
        fail: Callable[[BaseException], None],
        token: DeadlineCancelToken,
        priority: Priority,
    ) -> None:
        with self._condition:
            if not self._accepting:
                raise NotReadyError("server is shutting down")
            limit = self.limits.limit(priority)
            if self._waiting[priority] >= limit:
                retry_after_s = max(1.0, self._mean_run_s * (self._waiting[priority] + 1))
                raise OverloadedError(
                    f"{priority.name.lower()} queue is full ({limit} waiting); retry later",
                    retry_after_s=round(retry_after_s, 1),
                )
            item = _WorkItem(int(priority), next(self._sequence), run, fail, token, time.monotonic())
            heapq.heappush(self._heap, item)
            self._waiting[priority] += 1
            self._condition.notify()

    # ------------------------------------------------------------------ the thread
    def _loop(self) -> None:
        _LOGGER.debug("model worker started")
        while True:
            with self._condition:
                while not self._heap and not self._stopping:
                    self._condition.wait()
                if not self._heap:
                    break
                item = heapq.heappop(self._heap)
                priority = Priority(item.priority)
                self._waiting[priority] -= 1
                self._busy = True
            self._run_item(item, priority)
        _LOGGER.debug("model worker stopped")

    def _run_item(self, item: _WorkItem, priority: Priority) -> None:
        started = time.monotonic()
        wait_s = started - item.enqueued_at
        try:
            if item.token.expired:
                item.fail(RequestTimeoutError(f"request timed out after waiting {wait_s:.1f} s in the queue"))
            else:
                item.run(self.engine)
        except BaseException:  # boundary: a task must never kill the model thread
            _LOGGER.exception("model worker task crashed")
        finally:
            run_s = time.monotonic() - started
            self._mean_run_s = 0.8 * self._mean_run_s + 0.2 * run_s
            self._busy = False
            if self._observer is not None:
                self._observer(priority, wait_s, run_s)

    def _fail_waiting(self, exc: BaseException) -> None:
        while self._heap:
            item = heapq.heappop(self._heap)
            self._waiting[Priority(item.priority)] -= 1
            item.fail(exc)


_TOKEN = threading.local()


def current_token() -> CancelToken | None:
    """The deadline-aware cancel token of the task running on this worker thread, if any."""
    return getattr(_TOKEN, "value", None)


def _call_with_token(task: Callable[[Engine], T], engine: Engine, token: CancelToken) -> T:
    _TOKEN.value = token
    try:
        return task(engine)
    finally:
        _TOKEN.value = None


def _translate(exc: BaseException, token: DeadlineCancelToken) -> BaseException:
    """Report a cancellation caused by the deadline as a timeout."""
    if isinstance(exc, CancelledError) and token.expired:
        return RequestTimeoutError("request timed out (deadline counted from enqueue)")
    return exc
