"""The server's batch jobs: submission, one background runner thread, cancel, delete, archives.

Built by the server's composition with its synthesis service::

    manager = JobManager(workdir=settings.workdir, service=runtime.service)
    # outputs in ./outputs/batch (``outputs_dir=`` to change), store in <workdir>/jobs/jobs.sqlite3
    manager.start()          # after the worker is started: resumes jobs interrupted by a crash
    ...
    manager.stop()           # before the worker stops: the current item finishes, the job stays resumable

Items run through ``service.run(request, Priority.BATCH)``, so interactive requests always go first. Jobs
run one after another, oldest first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from glmtts.errors import ConflictError
from glmtts.jobs.archive import build_archive
from glmtts.jobs.input import InputLimits, PromptResolver, header_options, parse_batch_input
from glmtts.jobs.layout import JobLayout, new_job_id, store_job, validate_job_id
from glmtts.jobs.options import ServiceLineChecks, job_options
from glmtts.jobs.runner import JobRunner, RunnerSettings
from glmtts.jobs.store import ItemError, ItemRecord, ItemState, JobRecord, JobState, JobStore
from glmtts.jobs.uploads import UploadLimits, extract_prompt_zip, remove_tree
from glmtts.synthesis import SynthesisService

_LOGGER = logging.getLogger(__name__)

_IDLE_POLL_S = 1.0


class JobManager:
    """Batch jobs of one server: durable, resumable, run at batch priority on the model worker."""

    def __init__(
        self,
        workdir: Path,
        service: SynthesisService,
        *,
        outputs_dir: Path | None = None,
        input_limits: InputLimits | None = None,
        upload_limits: UploadLimits | None = None,
        runner_settings: RunnerSettings | None = None,
    ) -> None:
        """``outputs_dir`` defaults to ``outputs/batch`` in the working directory (the design's location)."""
        self.layout = JobLayout.for_server(Path(workdir), outputs_dir)
        self.input_limits = input_limits or InputLimits()
        self.upload_limits = upload_limits or UploadLimits()
        self.service = service
        self._runner_settings = runner_settings or RunnerSettings()
        self._store: JobStore | None = None
        self._runner: JobRunner | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wakeup = threading.Event()
        self._cancel_events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._store_lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the store and start the runner thread (resumes interrupted jobs first)."""
        if self._thread is not None:
            return
        self._runner = JobRunner(self.store, self.service, self._runner_settings)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="glmtts-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop after the current item; unfinished jobs resume at the next :meth:`start`."""
        self._stop.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                _LOGGER.warning(
                    "batch item still running after %.0f s; leaving the job store open", timeout_s
                )
                return
            self._thread = None
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def store(self) -> JobStore:
        """The job store, opened on first use (jobs can be submitted before the runner starts)."""
        with self._store_lock:
            if self._store is None:
                self._store = JobStore(self.layout.db_path)
            return self._store

    # -- API --------------------------------------------------------------------------------------------

    def submit(
        self,
        jsonl: bytes,
        prompt_zip: Path | IO[bytes] | None = None,
        options: Mapping[str, Any] | None = None,
        job_id: str | None = None,
    ) -> JobRecord:
        """Validate and queue a job; bad lines become failed items, a bad file raises a typed error.

        ``options``: request fields shared by every item (see :func:`glmtts.jobs.options.job_options`).
        """
        given = {**header_options(jsonl, self.input_limits), **(options or {})}
        stored_options = job_options(self.service.decoder, given)
        job_id = validate_job_id(job_id) if job_id else new_job_id()
        if self.store.has_job(job_id):
            raise ConflictError(f"job {job_id!r} already exists")
        upload_dir = self.layout.upload_dir(job_id)
        root = self.layout.job_root(job_id)
        try:
            upload_dir.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise ConflictError(f"job {job_id!r} already exists") from None
        try:
            (upload_dir / "input.jsonl").write_bytes(jsonl)
            if prompt_zip is not None:
                extract_prompt_zip(prompt_zip, root, self.upload_limits)
            else:
                root.mkdir()
            resolver = PromptResolver([root], self.service.decoder.limits.max_upload_bytes)
            checks = ServiceLineChecks(self.service)
            batch = parse_batch_input(jsonl, resolver, checks, self.input_limits)
            record = store_job(
                self.store,
                job_id,
                batch,
                root=root,
                out_dir=self.layout.out_dir(job_id),
                options=stored_options,
            )
        except BaseException:
            remove_tree(upload_dir)
            raise
        _LOGGER.info("job %s queued: %d items, %d rejected lines", job_id, record.n_items, record.n_failed)
        self._wakeup.set()
        return record

    def get(self, job_id: str) -> JobRecord:
        return self.store.get_job(validate_job_id(job_id))

    def list_jobs(self, limit: int = 100) -> list[JobRecord]:
        return self.store.list_jobs(limit)

    def items(self, job_id: str, states: tuple[ItemState, ...] = ()) -> list[ItemRecord]:
        return self.store.items(validate_job_id(job_id), states)

    def cancel(self, job_id: str) -> JobRecord:
        """Stop a job: no new item starts and the running one is interrupted. Idempotent."""
        job = self.get(job_id)
        if job.state.finished:
            return job
        self.store.request_cancel(job_id)
        with self._lock:
            event = self._cancel_events.get(job_id)
        if event is not None:
            event.set()
        elif job.state is JobState.QUEUED:
            self.store.cancel_pending_items(job_id)
            self.store.set_job_state(job_id, JobState.CANCELLED)
        return self.get(job_id)

    def delete(self, job_id: str, timeout_s: float = 30.0) -> None:
        """Cancel if needed, then remove the job, its uploads, outputs and archive."""
        job = self.cancel(job_id)
        if not job.state.finished:
            job = self._wait_finished(job_id, timeout_s)
        self.store.delete_job(job_id)
        remove_tree(self.layout.upload_dir(job_id))
        remove_tree(job.out_dir)
        self.layout.archive_path(job_id).unlink(missing_ok=True)
        _LOGGER.info("job %s deleted", job_id)

    def archive_path(self, job_id: str) -> Path:
        """The zip of a finished job (built now if missing); :class:`ConflictError` while it runs."""
        job = self.get(job_id)
        if not job.state.finished:
            raise ConflictError(f"job {job_id!r} is {job.state.value}; its archive is ready when it finishes")
        path = self.layout.archive_path(job_id)
        if not path.is_file():
            build_archive(self.store, job, path)
        return path

    # -- internals --------------------------------------------------------------------------------------

    def _wait_finished(self, job_id: str, timeout_s: float) -> JobRecord:
        waited = 0.0
        while waited < timeout_s:
            job = self.get(job_id)
            if job.state.finished:
                return job
            self._stop.wait(0.05)
            waited += 0.05
        raise ConflictError(f"job {job_id!r} did not stop within {timeout_s:g} s; try again")

    def _loop(self) -> None:
        while not self._stop.is_set():
            job_id = self._next_job()
            if job_id is None:
                self._wakeup.wait(_IDLE_POLL_S)
                self._wakeup.clear()
                continue
            self._run_job(job_id)

    def _next_job(self) -> str | None:
        ids = self.store.job_ids_in_state(JobState.RUNNING) or self.store.job_ids_in_state(JobState.QUEUED)
        return ids[0] if ids else None

    def _run_job(self, job_id: str) -> None:
        assert self._runner is not None
        event = threading.Event()
        with self._lock:
            self._cancel_events[job_id] = event
        try:
            self._runner.run(job_id, cancel=event, finish=self._finish, stop=self._stop)
        except Exception as exc:  # boundary: a job-level failure must not stop the runner thread
            _LOGGER.exception("job %s failed", job_id)
            error = ItemError(getattr(exc, "error_type", "internal_error"), str(exc))
            self.store.cancel_pending_items(job_id)
            self.store.set_job_state(job_id, JobState.FAILED, error)
        finally:
            with self._lock:
                self._cancel_events.pop(job_id, None)

    def _finish(self, job: JobRecord) -> None:
        build_archive(self.store, job, self.layout.archive_path(job.job_id))
