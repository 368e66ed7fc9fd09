"""The server's job manager with the real model worker: batch priority, stop/resume, delete."""

from __future__ import annotations

import time
from pathlib import Path

from glmtts.engines.base import EngineConfig
from glmtts.engines.registry import create_engine
from glmtts.jobs.manager import JobManager
from glmtts.jobs.store import JobState
from glmtts.synthesis import Priority
from tests.support.jobs.fixtures import jsonl_bytes, loaded_runtime


def _manager(tmp_path: Path, runtime) -> JobManager:  # type: ignore[no-untyped-def]
    return JobManager(tmp_path / "workdir", runtime.service, outputs_dir=tmp_path / "outputs")


def _wait(manager: JobManager, job_id: str, predicate, timeout_s: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate(job := manager.get(job_id)):
        assert time.monotonic() < deadline, job
        time.sleep(0.01)
    return job


def test_stop_mid_job_then_resume_in_a_new_manager(tmp_path: Path, fake_engine_name: str):
    engine = create_engine(EngineConfig(name=fake_engine_name, extra={"delay_s": 0.02}))
    runtime = loaded_runtime(engine)
    worker = runtime.worker
    try:
        lines = [{"uttid": str(i), "voice": "fake_f", "syn_text": f"line {i}."} for i in range(40)]
        first = _manager(tmp_path, runtime)
        job_id = first.submit(jsonl_bytes(lines), options={"seed": 1}).job_id
        first.start()
        _wait(first, job_id, lambda job: job.n_done >= 5)
        first.stop()
        second = _manager(tmp_path, runtime)
        stopped = second.get(job_id)
        assert stopped.state is JobState.RUNNING and 5 <= stopped.n_done < 40
        # interactive work submitted while the job runs goes first
        second.start()
        _wait(second, job_id, lambda job: job.n_done > stopped.n_done)
        started = time.monotonic()
        worker.submit(lambda e: e.sample_rate, priority=Priority.INTERACTIVE).result(timeout=5)
        assert time.monotonic() - started < 0.5
        job = _wait(second, job_id, lambda job: job.state.finished)
        assert job.state is JobState.DONE and job.n_done == 40
        assert len(list((tmp_path / "outputs" / job_id).glob("*.wav"))) == 40
        assert second.archive_path(job_id).is_file()
        second.delete(job_id)
        assert not (tmp_path / "outputs" / job_id).exists() and not second.layout.upload_dir(job_id).exists()
        second.stop()
    finally:
        runtime.close()
