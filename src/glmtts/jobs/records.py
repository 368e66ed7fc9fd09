"""The records of the job store: job and item states, errors, and the frozen rows it returns."""

from __future__ import annotations

import enum
import time
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


def job_document(job: JobRecord) -> dict[str, Any]:
    """The JSON description of a job (``/v1/jobs/{id}`` and the UI, without the failure list)."""
    counts = {state.value: job.counts.get(state, 0) for state in ItemState}
    n_finished = counts["done"] + counts["failed"] + counts["cancelled"]
    return {
        "id": job.job_id,
        "state": job.state.value,
        "n_items": job.n_items,
        "counts": counts,
        "progress": round(n_finished / job.n_items, 4) if job.n_items else 1.0,
        "eta_s": _eta_s(job, n_finished),
        "options": dict(job.options),
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "error": job.error.as_dict() if job.error else None,
        "archive_url": f"/v1/jobs/{job.job_id}/archive" if job.state.finished else None,
    }


def _eta_s(job: JobRecord, n_finished: int) -> float | None:
    if job.state.finished or job.started_at is None or n_finished == 0 or not job.n_pending:
        return None
    per_item_s = (time.time() - job.started_at) / n_finished
    return round(per_item_s * job.n_pending, 1)
