"""Jobs run in the current process: ``glmtts batch run``, ``glmtts infer`` and the benchmark.

:func:`open_local_job` stores a JSONL file as a job (or finds the job it already is, so running the same
command again resumes it); :func:`run_local_job` runs it on an engine this process owns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from glmtts.engines.base import Engine
from glmtts.errors import ConflictError
from glmtts.jobs.archive import build_archive
from glmtts.jobs.input import InputLimits, PromptResolver, VoiceExists, parse_batch_input
from glmtts.jobs.layout import JobLayout, JobOptions, input_digest, store_job
from glmtts.jobs.runner import DirectEngineCall, ItemObserver, JobFinisher, JobRunner, RunnerSettings
from glmtts.jobs.store import JobRecord, JobStore
from glmtts.jobs.text_info import TextDescriber, describe_plain

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
    *,
    roots: Sequence[Path],
    options: JobOptions,
    voice_exists: VoiceExists | None = None,
    limits: InputLimits | None = None,
) -> OpenedJob:
    """Store ``data`` as job ``job_id``, or return the existing job if it was made from the same input."""
    digest = input_digest(data)
    if store.has_job(job_id):
        job = store.get_job(job_id)
        if job.options.get("input_sha256") != digest:
            raise ConflictError(f"job {job_id!r} exists with a different input; choose another --job-id")
        return OpenedJob(job, created=False)
    limits = limits or InputLimits()
    batch = parse_batch_input(data, PromptResolver(roots, limits.max_prompt_bytes), voice_exists, limits)
    job = store_job(
        store,
        job_id,
        batch,
        root=Path(roots[0]),
        out_dir=layout.out_dir(job_id),
        options=options,
        extra={"input_sha256": digest},
    )
    return OpenedJob(job, created=True)


def run_local_job(
    store: JobStore,
    engine: Engine,
    job_id: str,
    *,
    archive_path: Path | None,
    settings: RunnerSettings | None = None,
    describe_text: TextDescriber = describe_plain,
    on_item: ItemObserver | None = None,
    finish: JobFinisher | None = None,
) -> JobRecord:
    """Run (or resume) a stored job on ``engine``; write the archive when ``archive_path`` is given."""
    runner = JobRunner(
        store, DirectEngineCall(engine), settings, describe_text=describe_text, on_item=on_item
    )

    def finish_job(job: JobRecord) -> None:
        if archive_path is not None:
            build_archive(store, job, archive_path)
        if finish is not None:
            finish(job)

    job = runner.run(job_id, finish=finish_job)
    if job.state.finished and archive_path is not None and not archive_path.is_file():
        build_archive(store, job, archive_path)
    return job


def load_engine(
    name: str,
    *,
    ckpt_dir: Path | None = None,
    device: str = "cpu",
    engine_class: str | None = None,
    extra: dict[str, object] | None = None,
) -> Engine:
    """Build and load an engine; ``engine_class`` (``"module:Class"``) registers ``name`` first."""
    from glmtts.engines.base import EngineConfig
    from glmtts.engines.registry import create_engine, register_engine

    if engine_class:
        register_engine(name, engine_class)
    engine = create_engine(EngineConfig(name=name, ckpt_dir=ckpt_dir, device=device, extra=dict(extra or {})))
    engine.load()
    return engine
