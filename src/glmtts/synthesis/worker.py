"""The one thread that owns the engine, fed by a bounded priority queue.

Front ends never touch the engine: they :meth:`ModelWorker.submit`
a task (``Callable[[Engine], T]``) and get a :class:`concurrent.futures.Future`, or
:meth:`ModelWorker.submit_stream` a generator task and consume its items from sync or async code through a
:class:`ChunkStream`. Interactive tasks run before batch tasks; each priority has its own queue bound, and a
full queue raises :class:`~glmtts.errors.OverloadedError` at submit time. Timeouts count from enqueue: a task
still waiting at its deadline fails with :class:`~glmtts.errors.RequestTimeoutError` without running, and a
running task sees its :class:`~glmtts.engines.base.CancelToken` turn cancelled at the deadline.

The loop runs one task at a time, except for engines whose capabilities declare ``batching`` with
``batch_limits().max_sequences > 1``: there the first stream task starts a
:class:`~glmtts.synthesis.scheduler.StepScheduler`, which batches stream tasks step by step (plain tasks
run between steps) until the batch is empty. A stream task may yield ``STEP_PENDING`` (a batching
engine's parked sequence); run alone, the worker answers it with ``engine.run_step()``.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from glmtts.engines.base import CancelToken, Engine
from glmtts.engines.batching import StepPending
from glmtts.synthesis.bridge import ChunkStream
from glmtts.synthesis.scheduler import StepObserver, StepScheduler, StepStats
from glmtts.synthesis.taskqueue import (
    DeadlineCancelToken,
    Priority,
    QueueLimits,
    StreamTask,
    TaskQueue,
    WorkItem,
    close_steps,
    translate_error,
)

__all__ = [
    "DeadlineCancelToken",
    "ModelWorker",
    "Priority",
    "QueueLimits",
    "StepObserver",
    "TaskObserver",
    "current_token",
]

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

#: Called after each task with (priority, queue wait seconds, run seconds).
TaskObserver = Callable[[Priority, float, float], None]


class ModelWorker:
    """Owns an engine on one dedicated thread; runs submitted tasks by priority (batched where it can)."""

    def __init__(
        self,
        engine: Engine,
        limits: QueueLimits | None = None,
        observer: TaskObserver | None = None,
        name: str = "glmtts-model",
        step_observer: StepObserver | None = None,
    ) -> None:
        self.engine = engine
        self.limits = limits or QueueLimits()
        self._queue = TaskQueue(self.limits)
        self._observer = observer
        self._step_observer = step_observer
        #: The batched steps run so far (engines that batch).
        self.steps = StepStats()
        self._sequence = itertools.count()  # next() on it is atomic: submitters need no lock
        self._busy = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if not self._thread.is_alive():
            self._thread.start()

    def stop(self, drain: bool = True, timeout_s: float | None = 30.0) -> None:
        """Stop accepting work; finish queued tasks when ``drain`` (else fail them), then join the thread."""
        self._queue.close(drain)
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def depth(self, priority: Priority | None = None) -> int:
        """Number of tasks waiting (all priorities when ``priority`` is None)."""
        return self._queue.depth(priority)

    def in_flight(self, priority: Priority | None = None) -> int:
        """Sequences in the running batch (0 unless the engine batches)."""
        return self._queue.in_flight(priority)

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
                future.set_exception(translate_error(exc, token))
            else:
                future.set_result(result)

        def fail(exc: BaseException) -> None:
            if future.set_running_or_notify_cancel():
                future.set_exception(exc)

        self._queue.push(WorkItem(int(priority), next(self._sequence), run, fail, token, time.monotonic()))
        return future

    def submit_stream(
        self,
        task: StreamTask,
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
                _drive_alone(engine, task(engine, token), token, stream)
            except BaseException as exc:  # boundary: the consumer re-raises it
                stream.fail(translate_error(exc, token))
            else:
                stream.finish()

        sequence = next(self._sequence)
        item = WorkItem(int(priority), sequence, run, stream.fail, token, time.monotonic(), task, stream)
        self._queue.push(item)
        return stream

    def _token(self, timeout_s: float | None, cancel: CancelToken | None) -> DeadlineCancelToken:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        return DeadlineCancelToken(deadline, parent=cancel)

    # ------------------------------------------------------------------ the thread
    def _loop(self) -> None:
        _LOGGER.debug("model worker started")
        while (item := self._queue.pop()) is not None:
            self._busy = True
            width = self._batch_width() if item.steps is not None else 1
            if width > 1:
                self._run_batch(item, width)
            else:
                self._run_item(item)
            self._busy = False
        _LOGGER.debug("model worker stopped")

    def _batch_width(self) -> int:
        """Sequences per step when the engine batches (1: run stream tasks one at a time)."""
        engine = self.engine
        if not isinstance(engine, Engine):
            return 1
        try:
            return engine.batch_limits().max_sequences if engine.capabilities().batching else 1
        except Exception:  # boundary: an engine that cannot say runs serially
            _LOGGER.exception("reading the engine's batch limits failed; running serially")
            return 1

    def _run_batch(self, first: WorkItem, width: int) -> None:
        self.steps.max_sequences = width
        scheduler = StepScheduler(
            self.engine,
            self._queue,
            width,
            run_task=self._run_item,
            done=self._observe,
            stats=self.steps,
            step_observer=self._step_observer,
        )
        try:
            scheduler.run(first)
        except BaseException:  # boundary: the scheduler must never kill the model thread
            _LOGGER.exception("batch scheduler crashed")

    def _run_item(self, item: WorkItem) -> None:
        started = time.monotonic()
        wait_s = started - item.enqueued_at
        try:
            if item.token.expired:
                item.fail(item.queue_timeout())
            else:
                item.run(self.engine)
        except BaseException:  # boundary: a task must never kill the model thread
            _LOGGER.exception("model worker task crashed")
        finally:
            run_s = time.monotonic() - started
            self._queue.record_service(run_s)
            self._observe(item, wait_s, run_s)

    def _observe(self, item: WorkItem, wait_s: float, run_s: float) -> None:
        if self._observer is not None:
            self._observer(item.level, wait_s, run_s)


def _drive_alone(engine: Engine, items: Iterator[Any], token: CancelToken, stream: ChunkStream[Any]) -> None:
    """Run one stream task to its end, answering ``STEP_PENDING`` with ``engine.run_step()``."""
    try:
        for item in items:
            token.raise_if_cancelled()
            if isinstance(item, StepPending):
                engine.run_step()
            else:
                stream.put(item)
    finally:
        close_steps(items)  # also on cancel or failure


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
