"""The model worker: priority order, bounded queues, deadlines from enqueue, cancel, streams."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from glmtts.engines.base import CancelToken
from glmtts.errors import CancelledError, OverloadedError, RequestTimeoutError
from glmtts.synthesis.worker import ModelWorker, Priority, QueueLimits


class _Blocker:
    """A task that holds the worker until released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, engine: Any) -> str:
        self.started.set()
        self.release.wait(5)
        return "blocker"


@pytest.fixture()
def worker() -> Iterator[ModelWorker]:
    model_worker = ModelWorker(engine=object(), limits=QueueLimits(interactive=2, batch=3))  # type: ignore[arg-type]
    model_worker.start()
    yield model_worker
    model_worker.stop(drain=False, timeout_s=5)


def test_interactive_runs_before_batch_and_engine_is_passed(worker: ModelWorker) -> None:
    blocker = _Blocker()
    worker.submit(blocker)
    assert blocker.started.wait(2)
    order: list[str] = []
    batch = [worker.submit(lambda e, i=i: order.append(f"b{i}"), priority=Priority.BATCH) for i in range(2)]
    interactive = worker.submit(lambda e: order.append("i") or e)
    blocker.release.set()
    assert interactive.result(2) is worker.engine
    for future in batch:
        future.result(2)
    assert order == ["i", "b0", "b1"]


def test_full_queue_raises_overloaded_but_batch_has_its_own_bound(worker: ModelWorker) -> None:
    blocker = _Blocker()
    worker.submit(blocker)
    assert blocker.started.wait(2)
    waiting = [worker.submit(lambda e: 1) for _ in range(2)]
    with pytest.raises(OverloadedError) as info:
        worker.submit(lambda e: 1)
    assert info.value.retry_after_s >= 1
    batch = worker.submit(lambda e: 2, priority=Priority.BATCH)
    assert worker.depth(Priority.INTERACTIVE) == 2 and worker.depth(Priority.BATCH) == 1
    blocker.release.set()
    assert [f.result(2) for f in waiting] == [1, 1] and batch.result(2) == 2


def test_timeout_counts_from_enqueue(worker: ModelWorker) -> None:
    blocker = _Blocker()
    worker.submit(blocker)
    assert blocker.started.wait(2)
    ran = threading.Event()
    late = worker.submit(lambda e: ran.set(), timeout_s=0.05)
    time.sleep(0.15)
    blocker.release.set()
    with pytest.raises(RequestTimeoutError):
        late.result(2)
    assert not ran.is_set()


def test_cancelled_before_start_does_not_run(worker: ModelWorker) -> None:
    blocker = _Blocker()
    worker.submit(blocker)
    assert blocker.started.wait(2)
    token = CancelToken()
    ran = threading.Event()
    future = worker.submit(lambda e: ran.set(), cancel=token)
    token.cancel()
    blocker.release.set()
    with pytest.raises(CancelledError):
        future.result(2)
    assert not ran.is_set()


def _counting(n_items: int, delay_s: float = 0.0) -> Any:
    def task(engine: Any, token: CancelToken) -> Iterator[int]:
        for index in range(n_items):
            time.sleep(delay_s)
            yield index

    return task


def test_stream_sync_iteration_and_task_error(worker: ModelWorker) -> None:
    assert list(worker.submit_stream(_counting(4))) == [0, 1, 2, 3]

    def failing(engine: Any, token: CancelToken) -> Iterator[int]:
        yield 1
        raise ValueError("boom")

    stream = worker.submit_stream(failing)
    assert next(stream) == 1
    with pytest.raises(ValueError, match="boom"):
        next(stream)


def test_stream_async_bridge_and_cancel_stops_producer(worker: ModelWorker) -> None:
    produced: list[int] = []

    def task(engine: Any, token: CancelToken) -> Iterator[int]:
        for index in range(100):
            time.sleep(0.01)
            produced.append(index)
            yield index

    async def consume() -> list[int]:
        stream = worker.submit_stream(task)
        received = []
        async for item in stream:
            received.append(item)
            if len(received) == 3:
                stream.cancel()
                break
        return received

    assert asyncio.run(consume()) == [0, 1, 2]
    assert worker.submit(lambda e: "after").result(5) == "after"
    assert len(produced) < 10


def test_stop_drains_queued_work() -> None:
    model_worker = ModelWorker(engine=object())  # type: ignore[arg-type]
    model_worker.start()
    futures = [model_worker.submit(lambda e, i=i: (time.sleep(0.01), i)[1]) for i in range(5)]
    model_worker.stop(drain=True, timeout_s=5)
    assert [f.result(0) for f in futures] == [0, 1, 2, 3, 4]
    assert not model_worker.alive
