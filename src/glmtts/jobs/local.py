"""Jobs run in the current process: ``glmtts batch run``, ``glmtts infer`` and the benchmark.

:func:`open_local_job` stores a JSONL file as a job (or finds the job it already is, so running the same
command again resumes it); :func:`run_local_job` runs it through an in-process synthesis runtime
(:func:`glmtts.synthesis.open_runtime`): the same service, voices and limits as the server.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glmtts.errors import ConflictError
from glmtts.jobs.archive import build_archive
from glmtts.jobs.input import InputLimits, PromptResolver, header_options, parse_batch_input
from glmtts.jobs.layout import JobLayout, input_digest, store_job
from glmtts.jobs.options import ServiceLineChecks, job_options
from glmtts.jobs.runner import ItemObserver, JobFinisher, JobRunner, RunnerSettings
from glmtts.jobs.store import JobRecord, JobStore
from glmtts.synthesis import SynthesisService

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenedJob:
    """A stored job and whether this call created it (False: resuming an earlier run)."""

    job: JobRecord
    created: bool


def open_local_job(
    store: JobStore,
    layout: JobLayout,
    job_id: str,
    data: bytes,
    service: SynthesisService,
    *,
    roots: Sequence[Path],
    options: Mapping[str, Any] | None = None,
    limits: InputLimits | None = None,
) -> OpenedJob:
    """Store ``data`` as job ``job_id``, or return the existing job if it was made from the same input."""
    digest = input_digest(data)
    if store.has_job(job_id):
        job = store.get_job(job_id)
        if job.options.get("input_sha256") != digest:
            raise ConflictError(f"job {job_id!r} exists with a different input; choose another --job-id")
        return OpenedJob(job, created=False)
    given = {**header_options(data, limits), **(options or {})}
    stored_options = {**job_options(service.decoder, given), "input_sha256": digest}
    resolver = PromptResolver(roots, service.decoder.limits.max_upload_bytes)
    batch = parse_batch_input(data, resolver, ServiceLineChecks(service), limits)
    job = store_job(
        store, job_id, batch, root=Path(roots[0]), out_dir=layout.out_dir(job_id), options=stored_options
    )
    return OpenedJob(job, created=True)


def run_local_job(
    store: JobStore,
    service: SynthesisService,
    job_id: str,
    *,
    archive_path: Path | None,
    settings: RunnerSettings | None = None,
    on_item: ItemObserver | None = None,
    finish: JobFinisher | None = None,
) -> JobRecord:
    """Run (or resume) a stored job; write the archive when ``archive_path`` is given."""
    runner = JobRunner(store, service, settings, on_item=on_item)

    def finish_job(job: JobRecord) -> None:
        if archive_path is not None:
            build_archive(store, job, archive_path)
        if finish is not None:
            finish(job)

    job = runner.run(job_id, finish=finish_job)
    if job.state.finished and archive_path is not None and not archive_path.is_file():
        build_archive(store, job, archive_path)
    return job
