"""Where a job's files live, its ids, and turning a validated input into a stored job.

Server layout (``JobLayout.for_server``)::

    <workdir>/jobs/jobs.sqlite3           the job store
    <workdir>/jobs/<job_id>/input.jsonl   the submitted file, as received
    <workdir>/jobs/<job_id>/files/        the job root: the extracted zip of prompt clips
    <outputs>/<job_id>/<uttid>.wav        outputs (+ results.jsonl), <outputs> = outputs/batch by default
    <outputs>/<job_id>.zip                the archive

The local ``glmtts batch run`` keeps its store at ``<out>/.glmtts-jobs.sqlite3`` and uses the folder of the
JSONL file (or ``--root``) as the job root.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glmtts.errors import InvalidOptionError
from glmtts.jobs.input import BatchInput
from glmtts.jobs.store import JobRecord, JobStore

_JOB_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class JobLayout:
    """Paths of the store, uploads and outputs."""

    db_path: Path
    uploads_dir: Path
    outputs_dir: Path

    @classmethod
    def for_server(cls, workdir: Path, outputs_dir: Path | None = None) -> JobLayout:
        return cls(
            db_path=workdir / "jobs" / "jobs.sqlite3",
            uploads_dir=workdir / "jobs",
            outputs_dir=outputs_dir if outputs_dir is not None else Path("outputs") / "batch",
        )

    @classmethod
    def for_local(cls, outputs_dir: Path) -> JobLayout:
        return cls(
            db_path=outputs_dir / ".glmtts-jobs.sqlite3", uploads_dir=outputs_dir, outputs_dir=outputs_dir
        )

    def upload_dir(self, job_id: str) -> Path:
        return self.uploads_dir / validate_job_id(job_id)

    def job_root(self, job_id: str) -> Path:
        return self.upload_dir(job_id) / "files"

    def out_dir(self, job_id: str) -> Path:
        return self.outputs_dir / validate_job_id(job_id)

    def archive_path(self, job_id: str) -> Path:
        return self.outputs_dir / f"{validate_job_id(job_id)}.zip"


def validate_job_id(job_id: str) -> str:
    """Return ``job_id`` if it is safe as a folder name, else raise :class:`InvalidOptionError`."""
    if not isinstance(job_id, str) or not _JOB_ID_RE.match(job_id) or ".." in job_id:
        raise InvalidOptionError(
            f"invalid job id {job_id!r}: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return job_id


def new_job_id() -> str:
    """A fresh, time-sortable job id such as ``20260101-120000-3fa9c2``."""
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def content_job_id(path: Path, data: bytes) -> str:
    """The default local job id: file stem + content hash, so re-running the same file resumes it."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem).lstrip("._-")[:40] or "batch"
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:10]}"


def input_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def store_job(
    store: JobStore,
    job_id: str,
    batch: BatchInput,
    *,
    root: Path,
    out_dir: Path,
    options: Mapping[str, Any],
) -> JobRecord:
    """Store a validated input as a new queued job; ``options`` are request fields shared by every item."""
    return store.create_job(job_id, root=root, out_dir=out_dir, options=dict(options), items=batch.items)
