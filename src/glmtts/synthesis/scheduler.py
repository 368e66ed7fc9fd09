"""Continuous batching on the model thread, for engines whose capabilities declare ``batching``.

The model worker hands its first stream task to :meth:`StepScheduler.run`, which keeps a batch of live
sequences (each a request's event generator, built on ``engine.stream_steps``) until none is left:

1. between steps, take work from the queue in its order: plain tasks run at once, stream tasks join the
   batch while it has fewer than ``max_sequences`` (interactive before batch priority, as always);
2. advance every live generator until it parks (yields ``STEP_PENDING``) or ends, delivering its events to
   its :class:`~glmtts.synthesis.bridge.ChunkStream` (``STEP_PENDING`` never reaches a stream);
3. once every live one is parked, run ``engine.run_step()``: one batched step for all of them.

A request that is cancelled (client gone) or passes its deadline is closed between steps: ``close()`` on
its generator releases its sequence in the engine, and the others go on untouched.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from glmtts.engines.base import Engine
from glmtts.engines.batching import StepPending
from glmtts.synthesis.taskqueue import TaskQueue, WorkItem, close_steps, translate_error

_LOGGER = logging.getLogger(__name__)

#: Called after each batched step with (sequences in the step, step seconds).
StepObserver = Callable[[int, float], None]
#: Called when a task or sequence is done with (item, queue wait seconds, run seconds).
ItemDone = Callable[[WorkItem, float, float], None]


class StepStats:
    """Counts of the batched steps so far and their recent rate (written on the model thread only)."""

    def __init__(self, window: int = 256) -> None:
        self.n_steps = 0
        self.n_sequence_steps = 0
        self.max_sequences = 1
        self._recent: collections.deque[tuple[float, int]] = collections.deque(maxlen=window)

    def record(self, n_sequences: int) -> None:
        self.n_steps += 1
        self.n_sequence_steps += n_sequences
        self._recent.append((time.monotonic(), n_sequences))

    def snapshot(self) -> dict[str, Any]:
        """Totals, the mean batch size, and steps / sequence-steps per second over the recent window."""
        recent = list(self._recent)
        span_s = recent[-1][0] - recent[0][0] if len(recent) > 1 else 0.0
        rate = (len(recent) - 1) / span_s if span_s > 0 else 0.0
        mean_recent = sum(n for _, n in recent) / len(recent) if recent else 0.0
        return {
            "max_sequences": self.max_sequences,
            "steps": self.n_steps,
            "sequence_steps": self.n_sequence_steps,
            "mean_batch_size": round(self.n_sequence_steps / self.n_steps, 3) if self.n_steps else 0.0,
            "recent_mean_batch_size": round(mean_recent, 3),
            "steps_per_s": round(rate, 3),
            "sequence_steps_per_s": round(rate * mean_recent, 3),
        }


@dataclass
class _Live:
    """A sequence in the batch."""

    item: WorkItem
    steps: Iterator[Any]
    admitted_at: float


class StepScheduler:
    """Drives the batch until it is empty; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        queue: TaskQueue,
        max_sequences: int,
        *,
        run_task: Callable[[WorkItem], None],
        done: ItemDone,
        stats: StepStats,
        step_observer: StepObserver | None = None,
    ) -> None:
        self.engine = engine
        self.queue = queue
        self.max_sequences = max_sequences
        self._run_task = run_task
        self._done = done
        self._stats = stats
        self._step_observer = step_observer
        self._live: list[_Live] = []

    @property
    def n_live(self) -> int:
        return len(self._live)

    def run(self, first: WorkItem) -> None:
        """Run ``first`` (a stream task just popped) and everything that joins it, until none is live."""
        self.queue.joined(first)
        self._admit(first)
        while self._live:
            self._fill()
            for live in list(self._live):
                self._advance(live)
            if self._live:
                self._step()

    # ------------------------------------------------------------------ admission
    def _fill(self) -> None:
        while (item := self.queue.take(room=len(self._live) < self.max_sequences)) is not None:
            if item.steps is None:
                self._run_task(item)
            else:
                self._admit(item)

    def _admit(self, item: WorkItem) -> None:
        assert item.steps is not None and item.stream is not None
        now = time.monotonic()
        if item.token.expired:
            self.queue.left(item)
            item.fail(item.queue_timeout())
            self._done(item, now - item.enqueued_at, 0.0)
            return
        self._live.append(_Live(item, item.steps(self.engine, item.token), now))

    # ------------------------------------------------------------------ advancing
    def _advance(self, live: _Live) -> None:
        """Resume ``live`` until it parks; deliver what it yields; end it when it finishes or fails."""
        stream = live.item.stream
        assert stream is not None
        try:
            while True:
                live.item.token.raise_if_cancelled()
                event = next(live.steps)
                if isinstance(event, StepPending):
                    return
                stream.put(event)
        except StopIteration:
            self._end(live, None)
        except BaseException as exc:  # boundary: one request's failure is its consumer's, not the batch's
            self._end(live, translate_error(exc, live.item.token))

    def _step(self) -> None:
        for live in [live for live in self._live if live.item.token.cancelled]:
            self._advance(live)  # ends it with its token's error
        if not self._live:
            return
        n_sequences = len(self._live)
        started = time.monotonic()
        try:
            self.engine.run_step()
        except BaseException as exc:  # boundary: a failed step fails its batch, never the model thread
            _LOGGER.exception("batched step of %d sequences failed", n_sequences)
            for live in list(self._live):
                self._end(live, exc)
            return
        self._stats.record(n_sequences)
        if self._step_observer is not None:
            self._step_observer(n_sequences, time.monotonic() - started)

    def _end(self, live: _Live, exc: BaseException | None) -> None:
        """Close ``live``'s generator (releasing its sequence) and finish or fail its stream."""
        self._live.remove(live)
        item = live.item
        assert item.stream is not None
        try:
            close_steps(live.steps)
        except BaseException:  # boundary: a generator that fails to close must not stop the batch
            _LOGGER.exception("closing a sequence failed")
        if exc is None:
            item.stream.finish()
        else:
            item.stream.fail(exc)
        self.queue.left(item)
        run_s = time.monotonic() - live.admitted_at
        self.queue.record_service(run_s / self.max_sequences)
        self._done(item, live.admitted_at - item.enqueued_at, run_s)
