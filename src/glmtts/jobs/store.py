"""Durable job store: one SQLite database (WAL) holding jobs and their items.

The store is the single source of truth for a batch job. Every state change is committed before the next
step starts, so a process killed with SIGKILL loses at most the item that was being synthesized, and the
runner can tell at restart which items still need work. WAL with ``synchronous=NORMAL`` survives process
crashes (only a power loss may drop the last transactions).

Item states: ``queued`` → ``running`` → ``done`` | ``failed`` | ``cancelled``. Lines rejected while parsing
the input are stored directly as ``failed`` items (with their line number), so results always list every
line of the input. Job states: ``queued`` → ``running`` → ``done`` | ``cancelled`` | ``failed`` (``failed``
only for job-level problems; a job whose items failed one by one is still ``done``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from glmtts.errors import ConflictError, NotFoundError
from glmtts.jobs.records import ItemError, ItemRecord, ItemState, JobRecord, JobState, NewItem

__all__ = ["ItemError", "ItemRecord", "ItemState", "JobRecord", "JobState", "JobStore", "NewItem"]

_LOGGER = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    root TEXT NOT NULL,
    out_dir TEXT NOT NULL,
    options TEXT NOT NULL,
    n_items INTEGER NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    error_type TEXT,
    error_message TEXT
);
CREATE TABLE IF NOT EXISTS items (
    job_id TEXT NOT NULL REFERENCES jobs(job_id) ON DELETE CASCADE,
    line_no INTEGER NOT NULL,
    uttid TEXT,
    syn_text TEXT,
    prompt_text TEXT,
    prompt_path TEXT,
    voice TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error_type TEXT,
    error_message TEXT,
    normalized_text TEXT,
    started_at REAL,
    finished_at REAL,
    synth_s REAL,
    audio_s REAL,
    output TEXT,
    PRIMARY KEY (job_id, line_no)
);
CREATE INDEX IF NOT EXISTS items_by_state ON items(job_id, state, line_no);
"""


class JobStore:
    """Thread-safe access to the jobs database at ``path`` (``None``: in memory, for one-shot runs)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            ":memory:" if path is None else str(path),
            timeout=30.0,
            isolation_level=None,
            check_same_thread=False,
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- jobs -------------------------------------------------------------------------------------------

    def create_job(
        self,
        job_id: str,
        *,
        root: Path,
        out_dir: Path,
        options: Mapping[str, Any],
        items: Sequence[NewItem],
    ) -> JobRecord:
        """Store a new job and its items; raise :class:`ConflictError` if the id is taken."""
        now = time.time()
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM jobs WHERE job_id = ?", (job_id,)).fetchone():
                raise ConflictError(f"job {job_id!r} already exists")
            conn.execute(
                "INSERT INTO jobs (job_id, state, created_at, root, out_dir, options, n_items)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    JobState.QUEUED.value,
                    now,
                    str(root),
                    str(out_dir),
                    json.dumps(dict(options)),
                    len(items),
                ),
            )
            conn.executemany(
                "INSERT INTO items (job_id, line_no, uttid, syn_text, prompt_text, prompt_path, voice, state,"
                " error_type, error_message, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_new_item_row(job_id, item, now) for item in items],
            )
        return self.get_job(job_id)

    def get_job(self, job_id: str) -> JobRecord:
        """Return a job with its counts; raise :class:`NotFoundError` if there is none."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no job {job_id!r}")
            return _job_from_row(row, self._counts(job_id))

    def has_job(self, job_id: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM jobs WHERE job_id = ?", (job_id,)).fetchone() is not None

    def list_jobs(self, limit: int = 100) -> list[JobRecord]:
        """Newest jobs first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM jobs ORDER BY created_at DESC, job_id LIMIT ?", (limit,)
            ).fetchall()
            return [_job_from_row(row, self._counts(row["job_id"])) for row in rows]

    def job_ids_in_state(self, *states: JobState) -> list[str]:
        """Ids of jobs in any of ``states``, oldest first."""
        marks = ",".join("?" for _ in states)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT job_id FROM jobs WHERE state IN ({marks}) ORDER BY created_at, job_id",
                [state.value for state in states],
            ).fetchall()
        return [row["job_id"] for row in rows]

    def set_job_state(self, job_id: str, state: JobState, error: ItemError | None = None) -> None:
        now = time.time()
        with self._transaction() as conn:
            conn.execute(
                "UPDATE jobs SET state = ?,"
                " started_at = CASE WHEN ? = 'running' AND started_at IS NULL THEN ? ELSE started_at END,"
                " finished_at = CASE WHEN ? IN ('done', 'failed', 'cancelled') THEN ? ELSE NULL END,"
                " error_type = ?, error_message = ? WHERE job_id = ?",
                (
                    state.value,
                    state.value,
                    now,
                    state.value,
                    now,
                    error.error_type if error else None,
                    error.message if error else None,
                    job_id,
                ),
            )

    def request_cancel(self, job_id: str) -> None:
        """Flag a job for cancellation (the runner stops before its next item)."""
        with self._transaction() as conn:
            conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE job_id = ?", (job_id,))

    def cancel_requested(self, job_id: str) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT cancel_requested FROM jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        return bool(row and row["cancel_requested"])

    def delete_job(self, job_id: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM items WHERE job_id = ?", (job_id,))
            conn.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))

    # -- items ------------------------------------------------------------------------------------------

    def items(self, job_id: str, states: Sequence[ItemState] = ()) -> list[ItemRecord]:
        """Items of a job in input order, optionally only those in ``states``."""
        query = "SELECT * FROM items WHERE job_id = ?"
        params: list[Any] = [job_id]
        if states:
            query += f" AND state IN ({','.join('?' for _ in states)})"
            params.extend(state.value for state in states)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY line_no", params).fetchall()
        return [_item_from_row(row) for row in rows]

    def next_queued_item(self, job_id: str) -> ItemRecord | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM items WHERE job_id = ? AND state = 'queued' ORDER BY line_no LIMIT 1",
                (job_id,),
            ).fetchone()
        return None if row is None else _item_from_row(row)

    def mark_item_running(self, job_id: str, line_no: int, normalized_text: str | None) -> None:
        """Commit that an item is about to be synthesized (counts one attempt)."""
        self._update_item(
            job_id,
            line_no,
            "state = 'running', attempts = attempts + 1, started_at = ?, normalized_text = ?",
            (time.time(), normalized_text),
        )

    def count_attempt(self, job_id: str, line_no: int) -> None:
        """Count one more attempt of a running item (a retry after a transient error)."""
        self._update_item(job_id, line_no, "attempts = attempts + 1", ())

    def requeue_item(self, job_id: str, line_no: int) -> None:
        self._update_item(job_id, line_no, "state = 'queued'", ())

    def mark_item_done(
        self, job_id: str, line_no: int, *, output: str, synth_s: float, audio_s: float
    ) -> None:
        self._update_item(
            job_id,
            line_no,
            "state = 'done', output = ?, synth_s = ?, audio_s = ?, finished_at = ?,"
            " error_type = NULL, error_message = NULL",
            (output, synth_s, audio_s, time.time()),
        )

    def mark_item_failed(self, job_id: str, line_no: int, error: ItemError) -> None:
        self._update_item(
            job_id,
            line_no,
            "state = 'failed', error_type = ?, error_message = ?, finished_at = ?",
            (error.error_type, error.message, time.time()),
        )

    def cancel_pending_items(self, job_id: str) -> int:
        """Mark every queued or running item cancelled; return how many were."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE items SET state = 'cancelled', finished_at = ?"
                " WHERE job_id = ? AND state IN ('queued', 'running')",
                (time.time(), job_id),
            )
            return int(cursor.rowcount)

    def _update_item(self, job_id: str, line_no: int, assignments: str, params: Sequence[Any]) -> None:
        with self._transaction() as conn:
            conn.execute(
                f"UPDATE items SET {assignments} WHERE job_id = ? AND line_no = ?", (*params, job_id, line_no)
            )

    def _counts(self, job_id: str) -> dict[ItemState, int]:
        rows = self._conn.execute(
            "SELECT state, COUNT(*) AS n FROM items WHERE job_id = ? GROUP BY state", (job_id,)
        ).fetchall()
        return {ItemState(row["state"]): int(row["n"]) for row in rows}


def _new_item_row(job_id: str, item: NewItem, now: float) -> tuple[Any, ...]:
    state = ItemState.FAILED if item.error else ItemState.QUEUED
    return (
        job_id,
        item.line_no,
        item.uttid,
        item.syn_text,
        item.prompt_text,
        item.prompt_path,
        item.voice,
        state.value,
        item.error.error_type if item.error else None,
        item.error.message if item.error else None,
        now if item.error else None,
    )


def _error_from_row(row: sqlite3.Row) -> ItemError | None:
    if row["error_type"] is None:
        return None
    return ItemError(row["error_type"], row["error_message"] or "")


def _job_from_row(row: sqlite3.Row, counts: Mapping[ItemState, int]) -> JobRecord:
    return JobRecord(
        job_id=row["job_id"],
        state=JobState(row["state"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        root=Path(row["root"]),
        out_dir=Path(row["out_dir"]),
        options=json.loads(row["options"]),
        n_items=row["n_items"],
        cancel_requested=bool(row["cancel_requested"]),
        error=_error_from_row(row),
        counts=dict(counts),
    )


def _item_from_row(row: sqlite3.Row) -> ItemRecord:
    return ItemRecord(
        job_id=row["job_id"],
        line_no=row["line_no"],
        uttid=row["uttid"],
        syn_text=row["syn_text"],
        prompt_text=row["prompt_text"],
        prompt_path=row["prompt_path"],
        voice=row["voice"],
        state=ItemState(row["state"]),
        attempts=row["attempts"],
        error=_error_from_row(row),
        normalized_text=row["normalized_text"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        synth_s=row["synth_s"],
        audio_s=row["audio_s"],
        output=row["output"],
    )
