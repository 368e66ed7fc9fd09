"""The runner: per-item isolation, retries, voice reuse, atomic outputs, archive contents, cancel, recovery."""

from __future__ import annotations

import json
import threading
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

from glmtts.jobs.archive import RESULTS_NAME, build_archive
from glmtts.jobs.input import PromptResolver, parse_batch_input
from glmtts.jobs.layout import store_job
from glmtts.jobs.options import ServiceLineChecks
from glmtts.jobs.runner import JobRunner, RunnerSettings
from glmtts.jobs.store import ItemState, JobState, JobStore
from glmtts.synthesis import Runtime
from tests.support.fake_engine import SAMPLE_RATE, FakeEngine
from tests.support.jobs.fixtures import item, jsonl_bytes, loaded_runtime

MAX_PROMPT_BYTES = 20 * 1024 * 1024


def _make_job(tmp_path: Path, root: Path, records: list, job_id: str = "job1") -> tuple[JobStore, Path]:
    store = JobStore(tmp_path / "jobs.sqlite3")
    batch = parse_batch_input(jsonl_bytes(records), PromptResolver([root], MAX_PROMPT_BYTES))
    out_dir = tmp_path / "out" / job_id
    store_job(store, job_id, batch, root=root, out_dir=out_dir, options={"seed": 7})
    return store, out_dir


def _results(out_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (out_dir / RESULTS_NAME).read_text("utf-8").splitlines()]


def test_30_items_with_3_broken_end_with_27_outputs_and_3_failures(
    tmp_path, job_root, fake_engine: FakeEngine, runtime: Runtime
):
    records = [
        item(str(i), f"sentence number {i}.", "prompts/a.wav" if i % 2 else "prompts/b.wav")
        for i in range(30)
    ]
    records[4] = item("4", "text.", "prompts/missing.wav")  # rejected at validation
    records[11] = item("11", "text.", "prompts/not_audio.wav")  # fails when the prompt is decoded
    records[25] = item("25", "BOOM goes the engine.")  # the engine raises a bug
    store, out_dir = _make_job(tmp_path, job_root, records)
    archive_path = tmp_path / "out" / "job1.zip"
    runner = JobRunner(store, runtime.service, RunnerSettings(retry_backoff_s=0.0))

    job = runner.run("job1", finish=lambda job: build_archive(store, job, archive_path) and None)

    assert job.state is JobState.DONE
    assert (job.n_done, job.n_failed, job.n_items) == (27, 3, 30)
    wavs = sorted(p.name for p in out_dir.glob("*.wav"))
    assert len(wavs) == 27 and "4.wav" not in wavs and "11.wav" not in wavs and "25.wav" not in wavs
    assert not list(out_dir.glob(".*.part"))
    results = _results(out_dir)
    assert [r["line"] for r in results] == list(range(1, 31))
    failures = {r["uttid"]: r["error"]["type"] for r in results if r["status"] == "failed"}
    assert failures == {"4": "invalid_audio", "11": "invalid_audio", "25": "internal_error"}
    done = [r for r in results if r["status"] == "done"]
    assert all(r["audio_s"] > 0 and r["normalized_text"] for r in done)
    # audio is audio: right rate, right length, not silent
    samples, sample_rate = sf.read(out_dir / "0.wav")
    assert sample_rate == SAMPLE_RATE
    assert abs(len(samples) / sample_rate - done[0]["audio_s"]) < 1e-3
    assert np.sqrt(np.mean(samples**2)) > 0.1
    # voice features were prepared once per distinct prompt, not once per item
    assert fake_engine.n_prepare == 2
    with zipfile.ZipFile(archive_path) as archive:
        assert sorted(archive.namelist()) == sorted([*wavs, RESULTS_NAME])
        assert archive.read("0.wav") == (out_dir / "0.wav").read_bytes()


def test_transient_errors_are_retried_and_bounded(tmp_path, job_root, runtime: Runtime):
    records = [item("a", "FLAKY once."), item("b", "ALWAYS_ENGINE_ERROR here."), item("c", "fine.")]
    store, _ = _make_job(tmp_path, job_root, records)
    runner = JobRunner(store, runtime.service, RunnerSettings(max_attempts=3, retry_backoff_s=0.0))
    runner.run("job1")
    by_uttid = {i.uttid: i for i in store.items("job1")}
    assert by_uttid["a"].state is ItemState.DONE and by_uttid["a"].attempts == 2
    assert by_uttid["b"].state is ItemState.FAILED and by_uttid["b"].attempts == 3
    assert by_uttid["b"].error is not None and by_uttid["b"].error.error_type == "engine_error"
    assert by_uttid["c"].state is ItemState.DONE and by_uttid["c"].attempts == 1


def test_builtin_voice_items_and_unknown_voice(tmp_path, job_root, runtime: Runtime):
    records = [
        {"uttid": "v1", "voice": "fake_m", "syn_text": "hello."},
        {"uttid": "v2", "voice": "nope", "syn_text": "x."},
        {"uttid": "v3", "voice": "alloy", "syn_text": "an OpenAI name."},
        {"uttid": "v4", "voice": "default", "syn_text": "the default voice."},
    ]
    store = JobStore(tmp_path / "jobs.sqlite3")
    checks = ServiceLineChecks(runtime.service)
    batch = parse_batch_input(jsonl_bytes(records), PromptResolver([job_root], MAX_PROMPT_BYTES), checks)
    assert [i.error.error_type if i.error else None for i in batch.items] == [
        None,
        "unknown_voice",
        None,
        None,
    ]
    store_job(store, "j", batch, root=job_root, out_dir=tmp_path / "o", options={"seed": 1})
    job = JobRunner(store, runtime.service).run("j")
    assert (job.n_done, job.n_failed) == (3, 1)


def test_cancel_stops_new_items_promptly(tmp_path, job_root, fake_engine_name):
    from glmtts.engines.base import EngineConfig
    from glmtts.engines.registry import create_engine

    engine = create_engine(EngineConfig(name=fake_engine_name, extra={"delay_s": 0.05}))
    runtime = loaded_runtime(engine)
    records = [item(str(i), f"line {i}.") for i in range(200)]
    store, out_dir = _make_job(tmp_path, job_root, records)
    cancel = threading.Event()
    started: list[str | None] = []

    def on_item(uttid, state):
        started.append(uttid)
        if len(started) == 3:
            cancel.set()

    with runtime:
        job = JobRunner(store, runtime.service, on_item=on_item).run("job1", cancel=cancel)
    assert job.state is JobState.CANCELLED
    assert job.n_done == 3 and job.counts[ItemState.CANCELLED] == 197
    assert len(list(out_dir.glob("*.wav"))) == 3


def test_recovery_after_a_crash(tmp_path, job_root, fake_engine: FakeEngine, runtime: Runtime):
    records = [item(str(i), f"line {i}.") for i in range(4)]
    store, out_dir = _make_job(tmp_path, job_root, records)
    # Simulate a process killed in three places: item 0 written but not committed, item 1 mid-synthesis,
    # item 2 interrupted too often already; plus a half-written temporary file.
    store.set_job_state("job1", JobState.RUNNING)
    for line_no in (1, 2, 3):
        store.mark_item_running("job1", line_no, None)
    for _ in range(2):
        store.count_attempt("job1", 3)
    out_dir.mkdir(parents=True)
    sf.write(out_dir / "0.wav", np.full(2400, 0.1, dtype=np.float32), SAMPLE_RATE)
    (out_dir / ".1.wav.abc.part").write_bytes(b"half")
    (out_dir.parent / ".job1.zip.abc.part").write_bytes(b"half")
    log: list[str] = []
    job = JobRunner(store, runtime.service, on_item=lambda u, s: log.append(u)).run("job1")
    by_uttid = {i.uttid: i for i in store.items("job1")}
    assert by_uttid["0"].state is ItemState.DONE and abs(by_uttid["0"].audio_s - 0.1) < 1e-6
    assert by_uttid["1"].state is ItemState.DONE and by_uttid["1"].attempts == 2
    assert by_uttid["2"].state is ItemState.FAILED and by_uttid["2"].error.error_type == "interrupted"
    assert log == ["1", "3"] and fake_engine.n_synth == 2
    assert not (out_dir / ".1.wav.abc.part").exists()
    assert not (out_dir.parent / ".job1.zip.abc.part").exists()
    assert job.state is JobState.DONE


def test_sample_rate_setting_resamples_outputs(tmp_path, job_root, runtime: Runtime):
    store, out_dir = _make_job(tmp_path, job_root, [item("x", "hello there.")])
    JobRunner(store, runtime.service, RunnerSettings(sample_rate=16_000)).run("job1")
    info = sf.info(out_dir / "x.wav")
    assert info.samplerate == 16_000 and info.duration > 0.1


def test_prompt_errors_name_the_clip_relative_to_the_job_root(tmp_path, job_root, runtime: Runtime):
    store, _ = _make_job(tmp_path, job_root, [item("n", "text.", "prompts/not_audio.wav")])
    JobRunner(store, runtime.service).run("job1")
    error = store.items("job1")[0].error
    assert error is not None and error.error_type == "invalid_audio"
    assert "prompts/not_audio.wav" in error.message and str(tmp_path) not in error.message


def test_stopped_job_resumes_without_extracting_the_prompt_again(tmp_path, job_root, fake_engine_name):
    from glmtts.engines.base import EngineConfig
    from glmtts.engines.registry import create_engine

    store, out_dir = _make_job(tmp_path, job_root, [item(str(i), f"line {i}.") for i in range(6)])
    stop = threading.Event()
    first = create_engine(EngineConfig(name=fake_engine_name))
    with loaded_runtime(first, tmp_path) as runtime:
        runner = JobRunner(store, runtime.service, on_item=lambda uttid, state: stop.set())
        job = runner.run("job1", stop=stop)
    assert job.state is JobState.RUNNING and job.n_done == 1 and first.n_prepare == 1
    second = create_engine(EngineConfig(name=fake_engine_name))
    with loaded_runtime(second, tmp_path) as runtime:
        job = JobRunner(store, runtime.service).run("job1")
    assert job.state is JobState.DONE and job.n_done == 6
    assert second.n_prepare == 0 and second.n_synth == 5
    first_tone, _ = sf.read(out_dir / "0.wav")
    later_tone, _ = sf.read(out_dir / "5.wav")
    n = min(len(first_tone), len(later_tone))
    assert np.allclose(first_tone[:n], later_tone[:n], atol=1e-3)  # same voice features after the restart
