"""Batch jobs on Ray Data: ``glmtts batch run FILE --ray``.

The job is stored exactly like a local one (:func:`glmtts.jobs.local.open_local_job`: the same SQLite store,
ids, options and line checks) and its deliverables are the same (``<out>/<job_id>/<uttid>.wav``,
``results.jsonl`` and ``<out>/<job_id>.zip``). The queued items become a Dataset; ``map_batches`` runs
them through :class:`ItemSynthesizer`, a callable class whose actors each build one in-process runtime
(the engine loads once per actor and stays resident) and synthesize with the same request decoding and
WAV writing as the local runner (:func:`glmtts.jobs.runner.item_request`, :func:`synthesize_to_file`).
The driver commits each result to the store as it streams back.

Resumable: a rerun first repairs the store like the local runner (:meth:`JobRunner.recover`), sends only
queued items, and an actor skips an item whose WAV is already there (written before a crash). One bad item
fails alone: transient errors are retried up to ``max_attempts``, anything else fails that item only.
Actors need the job's folders at the same paths: on a cluster, put ``--out`` and the prompts on shared
storage.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from glmtts.engines.base import EngineConfig
from glmtts.errors import GlmttsError
from glmtts.jobs.archive import build_archive
from glmtts.jobs.records import ItemError, ItemRecord, ItemState, JobRecord, JobState
from glmtts.jobs.runner import (
    TRANSIENT_ERRORS,
    ItemObserver,
    JobRunner,
    RunnerSettings,
    has_output,
    item_request,
    job_lock,
    output_path,
    synthesize_to_file,
)
from glmtts.jobs.store import JobStore
from glmtts.synthesis import Priority, Runtime, RuntimeConfig, SynthesisService, open_runtime

_LOGGER = logging.getLogger(__name__)

_ITEM_FIELDS = ("line_no", "uttid", "syn_text", "prompt_text", "prompt_path", "voice")


@dataclass(frozen=True)
class RayBatchSettings:
    """How the job spreads over Ray: actors (one engine each), their resources, items per call."""

    concurrency: int = 1
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    batch_size: int = 4
    max_attempts: int = 3
    retry_backoff_s: float = 0.5


@dataclass(frozen=True)
class ItemOutcome:
    """What one item came to, as the driver commits it."""

    line_no: int
    uttid: str
    state: ItemState
    attempts: int
    normalized_text: str | None = None
    audio_s: float | None = None
    synth_s: float | None = None
    error: ItemError | None = None

    def to_row(self) -> dict[str, Any]:
        error = self.error or ItemError("", "")
        return {
            "line_no": self.line_no, "uttid": self.uttid, "state": self.state.value, "attempts": self.attempts,
            "normalized_text": self.normalized_text, "audio_s": self.audio_s, "synth_s": self.synth_s,
            "error_type": error.error_type, "error_message": error.message,
        }  # fmt: skip

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ItemOutcome:
        def number(value: Any) -> float | None:
            return None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)

        return cls(
            line_no=int(row["line_no"]),
            uttid=str(row["uttid"]),
            state=ItemState(row["state"]),
            attempts=int(row["attempts"]),
            normalized_text=row.get("normalized_text"),
            audio_s=number(row.get("audio_s")),
            synth_s=number(row.get("synth_s")),
            error=ItemError(row["error_type"], row["error_message"]) if row.get("error_type") else None,
        )


class ItemSynthesizer:
    """The ``map_batches`` callable class: one loaded runtime per actor, a batch of items per call."""

    def __init__(
        self,
        engine: EngineConfig,
        engine_class: str | None,
        runtime: RuntimeConfig,
        job: JobRecord,
        settings: RayBatchSettings,
    ) -> None:
        if engine_class:
            from glmtts.engines.registry import register_engine

            register_engine(engine.name, engine_class)
        self.runtime: Runtime = open_runtime(engine, runtime)
        self.job = job
        self.settings = settings
        _LOGGER.info("batch actor %d: engine %s loaded", os.getpid(), engine.name)

    @property
    def service(self) -> SynthesisService:
        return self.runtime.service

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        rows = [self.run(self._item(batch, index)).to_row() for index in range(len(batch["line_no"]))]
        return {key: [row[key] for row in rows] for key in rows[0]} if rows else {}

    def _item(self, batch: dict[str, np.ndarray], index: int) -> ItemRecord:
        values = {name: batch[name][index] for name in _ITEM_FIELDS}
        text_or_none = {k: (None if v is None else str(v)) for k, v in values.items() if k != "line_no"}
        return ItemRecord(
            job_id=self.job.job_id, line_no=int(values["line_no"]), state=ItemState.QUEUED, attempts=0,
            error=None, normalized_text=None, started_at=None, finished_at=None, synth_s=None, audio_s=None,
            output=None, **text_or_none,
        )  # fmt: skip

    def run(self, item: ItemRecord) -> ItemOutcome:
        """Synthesize one item (or find it written already); never raises."""
        attempt = 1
        while True:
            try:
                return self._attempt(item, attempt)
            except TRANSIENT_ERRORS as exc:
                if attempt >= self.settings.max_attempts:
                    return self._failed(item, attempt, exc)
                _LOGGER.warning("item %s failed (%s); retrying", item.uttid, exc)
                time.sleep(self.settings.retry_backoff_s * 2 ** (attempt - 1))
                attempt += 1
            except Exception as exc:  # boundary: one broken item must not stop the job
                if not isinstance(exc, GlmttsError):
                    _LOGGER.exception("item %s crashed", item.uttid)
                return self._failed(item, attempt, exc)

    def _attempt(self, item: ItemRecord, attempt: int) -> ItemOutcome:
        request = item_request(self.service, self.job, item)
        described = self.service.describe(request.text, request.options.phoneme, Priority.BATCH).result()
        output = output_path(self.job, item)
        if has_output(self.job, item):  # written before an interruption: not synthesized again
            audio_s, synth_s = float(sf.info(str(output)).duration), 0.0
        else:
            audio_s, synth_s = synthesize_to_file(self.service, request, output)
        return ItemOutcome(
            item.line_no, str(item.uttid), ItemState.DONE, attempt, described.normalized, audio_s, synth_s
        )

    @staticmethod
    def _failed(item: ItemRecord, attempt: int, exc: BaseException) -> ItemOutcome:
        if isinstance(exc, GlmttsError):
            error = ItemError(exc.error_type, exc.message)
        else:
            error = ItemError("internal_error", f"{type(exc).__name__}: {exc}")
        return ItemOutcome(item.line_no, str(item.uttid), ItemState.FAILED, attempt, error=error)


@dataclass(frozen=True)
class RayJob:
    """What the actors need to run a stored job: the engine, the runtime config and the resources."""

    engine: EngineConfig
    engine_class: str | None
    runtime: RuntimeConfig
    settings: RayBatchSettings


def run_ray_job(
    store: JobStore,
    service: SynthesisService,
    job_id: str,
    spec: RayJob,
    *,
    archive_path: Path | None,
    on_item: ItemObserver | None = None,
) -> JobRecord:
    """Run (or resume) a stored job on Ray Data; ``service`` (not loaded) only repairs the store."""
    import ray

    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS") or None, log_to_driver=False)
    job = store.get_job(job_id)
    job.out_dir.mkdir(parents=True, exist_ok=True)
    with job_lock(job.out_dir / ".lock"):
        if not job.state.finished:
            JobRunner(store, service, RunnerSettings(max_attempts=spec.settings.max_attempts)).recover(job)
            store.set_job_state(job_id, JobState.RUNNING)
            queued = store.items(job_id, [ItemState.QUEUED])
            if queued:
                _dispatch(store, job, queued, spec, on_item or (lambda _uttid, _state: None))
            store.set_job_state(job_id, JobState.DONE)
        job = store.get_job(job_id)
        if archive_path is not None:
            build_archive(store, job, archive_path)
    _LOGGER.info("job %s done on Ray: %d done, %d failed", job_id, job.n_done, job.n_failed)
    return job


def _dispatch(
    store: JobStore,
    job: JobRecord,
    items: list[ItemRecord],
    spec: RayJob,
    on_item: Callable[[str | None, ItemState], None],
) -> None:
    import ray.data

    rows = [{name: getattr(item, name) for name in _ITEM_FIELDS} for item in items]
    settings = spec.settings
    results = ray.data.from_items(rows).map_batches(
        ItemSynthesizer,
        fn_constructor_kwargs={
            "engine": spec.engine, "engine_class": spec.engine_class, "runtime": spec.runtime,
            "job": job, "settings": settings,
        },
        batch_size=settings.batch_size,
        concurrency=settings.concurrency,
        num_cpus=settings.num_cpus,
        num_gpus=settings.num_gpus or None,
    )  # fmt: skip
    for row in results.iter_rows():
        outcome = ItemOutcome.from_row(row)
        _commit(store, job.job_id, outcome)
        on_item(outcome.uttid, outcome.state)


def _commit(store: JobStore, job_id: str, outcome: ItemOutcome) -> None:
    store.mark_item_running(job_id, outcome.line_no, outcome.normalized_text)
    for _retry in range(outcome.attempts - 1):
        store.count_attempt(job_id, outcome.line_no)
    if outcome.state is ItemState.DONE:
        store.mark_item_done(
            job_id,
            outcome.line_no,
            output=f"{outcome.uttid}.wav",
            synth_s=outcome.synth_s or 0.0,
            audio_s=outcome.audio_s or 0.0,
        )
    else:
        store.mark_item_failed(job_id, outcome.line_no, outcome.error or ItemError("internal_error", "?"))
