"""The records of the job store: job and item states, errors, and the frozen rows it returns."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class ItemState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ItemError:
    """Why an item failed: a stable ``error_type`` (see :mod:`glmtts.errors`) and a message."""

    error_type: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"type": self.error_type, "message": self.message}


@dataclass(frozen=True)
class NewItem:
    """One input line as stored at job creation; ``error`` set means the line was rejected."""

    line_no: int
    uttid: str | None
    syn_text: str | None = None
    prompt_text: str | None = None
    prompt_path: str | None = None
    voice: str | None = None
    error: ItemError | None = None


@dataclass(frozen=True)
class ItemRecord:
    """One item as stored."""

    job_id: str
    line_no: int
    uttid: str | None
    syn_text: str | None
    prompt_text: str | None
    prompt_path: str | None
    voice: str | None
    state: ItemState
    attempts: int
    error: ItemError | None
    normalized_text: str | None
    started_at: float | None
    finished_at: float | None
    synth_s: float | None
    audio_s: float | None
    output: str | None


@dataclass(frozen=True)
class JobRecord:
    """One job as stored, with its item counts by state."""

    job_id: str
    state: JobState
    created_at: float
    started_at: float | None
    finished_at: float | None
    root: Path
    out_dir: Path
    options: Mapping[str, Any]
    n_items: int
    cancel_requested: bool
    error: ItemError | None
    counts: Mapping[ItemState, int] = field(default_factory=dict)

    @property
    def n_done(self) -> int:
        return self.counts.get(ItemState.DONE, 0)

    @property
    def n_failed(self) -> int:
        return self.counts.get(ItemState.FAILED, 0)

    @property
    def n_pending(self) -> int:
        return self.counts.get(ItemState.QUEUED, 0) + self.counts.get(ItemState.RUNNING, 0)
