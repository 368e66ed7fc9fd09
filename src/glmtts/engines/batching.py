"""The cooperative batching contract: the marker a parked sequence yields, the per-step limits, a driver.

A batching engine (``Capabilities.batching``) implements :meth:`~glmtts.engines.base.Engine.stream_steps`
as a generator that yields :data:`STEP_PENDING` while its sequence waits for the next batched step, and
:meth:`~glmtts.engines.base.Engine.run_step` to run that step for every parked sequence. The model
worker's scheduler drives many such generators on one thread; :func:`drive_steps` drives one alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Protocol

from glmtts.audio.chunk import AudioChunk
from glmtts.errors import InvalidOptionError

__all__ = ["STEP_PENDING", "BatchLimits", "StepDriver", "StepPending", "drive_steps"]


class StepPending:
    """The marker a batching engine's :meth:`Engine.stream_steps` yields while its sequence is parked.

    A parked sequence waits for the engine's next batched step (:meth:`Engine.run_step`); whoever drives
    the generators (the model worker's scheduler loop, or :func:`drive_steps` for a single request) calls
    ``run_step()`` once every live sequence is parked or finished, then resumes them.
    """

    _instance: ClassVar[StepPending | None] = None

    def __new__(cls) -> StepPending:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "STEP_PENDING"


#: The one :class:`StepPending` instance.
STEP_PENDING = StepPending()


@dataclass(frozen=True)
class BatchLimits:
    """How much a batching engine runs in one step; the KV cache is preallocated to ``kv_capacity_tokens``.

    ``max_sequences``: sequences decoded together in one step (1 reproduces serial output exactly).
    ``token_budget``: tokens one step may process (one per decoding sequence plus prefill chunks, so a long
    prefill is split over several steps). ``kv_capacity_tokens``: total KV-cache positions over all
    sequences; a sequence that cannot get its positions waits for others to leave.
    """

    max_sequences: int = 1
    token_budget: int = 2048
    kv_capacity_tokens: int = 16_384

    def __post_init__(self) -> None:
        if self.max_sequences < 1 or self.token_budget < 1 or self.kv_capacity_tokens < 1:
            raise InvalidOptionError("batch limits must be positive")


class StepDriver(Protocol):
    """What :func:`drive_steps` needs of an engine: its batched step."""

    def run_step(self) -> None:
        """Run one batched step for every parked sequence."""


def drive_steps(engine: StepDriver, steps: Iterator[AudioChunk | StepPending]) -> Iterator[AudioChunk]:
    """Run one cooperative generator alone: call ``engine.run_step()`` whenever it parks.

    A batching engine's :meth:`Engine.stream` is this over its :meth:`Engine.stream_steps`, so a request
    run alone and the same request in a batch of one take the same path.
    """
    for item in steps:
        if isinstance(item, StepPending):
            engine.run_step()
        else:
            yield item
