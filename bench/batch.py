"""Batch-job overhead and restart latency.

1. Throughput: items/min of a 100-item job (durable store, atomic WAV writes, text description, results
   and zip) against 100 direct ``engine.synthesize`` calls with the same voice; target overhead <= 5 %.
2. Restart: a ``glmtts batch run`` process is killed with SIGKILL mid-job and started again; we time from
   the new process's spawn to its first newly finished item (imports + engine load + recovery + one item),
   and print the engine load time beside it.

Usage::

    python bench/batch.py                       # kokoro engine, 100 items
    python bench/batch.py --engine fake --engine-class tests.support.fake_engine:FakeEngine --delay-s 0.3
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PROMPT = REPO_ROOT / "examples" / "prompt" / "en_espeak.wav"
PROMPT_TEXT = "The quick brown fox jumps over the lazy dog."
SUBJECTS = ("The river", "My neighbour", "A small robot", "The old library", "Our teacher")
VERBS = ("opens at nine", "sings quietly", "waits for the train", "reads a short story", "paints the door")
ENDINGS = ("every morning.", "after the rain.", "before lunch.", "on Sunday.")


def texts(n_items: int) -> list[str]:
    return [f"{SUBJECTS[i % 5]} {VERBS[(i // 5) % 5]} {ENDINGS[(i // 25) % 4]}" for i in range(n_items)]


def write_input(path: Path, n_items: int) -> None:
    lines = [
        {"uttid": f"u{i:03d}", "prompt_text": PROMPT_TEXT, "prompt_speech": str(PROMPT), "syn_text": text}
        for i, text in enumerate(texts(n_items))
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def time_direct(runtime, n_items: int) -> float:  # type: ignore[no-untyped-def]
    """The same synthesis as the job's items, called on the model thread without the job machinery."""
    from glmtts.audio import read_audio
    from glmtts.engines.base import SynthesisOptions

    samples, sample_rate = read_audio(PROMPT)

    def run(engine):  # type: ignore[no-untyped-def]
        voice = engine.prepare_voice(samples, sample_rate, PROMPT_TEXT)
        for text in texts(n_items):
            engine.synthesize(text, voice, SynthesisOptions(seed=42))

    started = time.perf_counter()
    runtime.service.call(run).result()
    return time.perf_counter() - started


def time_job(runtime, n_items: int, workdir: Path, run_id: str) -> float:  # type: ignore[no-untyped-def]
    from glmtts.jobs.layout import JobLayout
    from glmtts.jobs.local import open_local_job, run_local_job
    from glmtts.jobs.store import JobStore

    source = workdir / f"{run_id}.jsonl"
    write_input(source, n_items)
    layout = JobLayout.for_local(workdir / "out")
    started = time.perf_counter()
    with JobStore(layout.db_path) as store:
        opened = open_local_job(
            store, layout, run_id, source.read_bytes(), runtime.service, roots=[REPO_ROOT]
        )
        job = run_local_job(
            store, runtime.service, opened.job.job_id, archive_path=layout.archive_path(run_id)
        )
    elapsed = time.perf_counter() - started
    if job.n_done != n_items:
        raise SystemExit(f"job finished with {job.n_done}/{n_items} items done")
    return elapsed


def done_count(db_path: Path, job_id: str) -> int:
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM items WHERE job_id=? AND state='done'", (job_id,)
            ).fetchone()
    except sqlite3.OperationalError:
        return 0
    return int(row[0])


def time_restart(args: argparse.Namespace, workdir: Path, kill_after: int = 5) -> float:
    source = workdir / "restart.jsonl"
    write_input(source, args.n)
    out = workdir / "restart-out"
    command = [
        sys.executable,
        "-m",
        "glmtts",
        "batch",
        "run",
        str(source),
        "--out",
        str(out),
        "--job-id",
        "restart",
    ]
    command += ["--engine", args.engine, "--no-progress"]
    if args.engine_class:
        command += ["--engine-class", args.engine_class]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "FAKE_ENGINE_DELAY_S": str(args.delay_s)}
    db_path = out / ".glmtts-jobs.sqlite3"
    first = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        while done_count(db_path, "restart") < kill_after:
            if first.poll() is not None:
                raise SystemExit("the first batch process ended early")
            time.sleep(0.01)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    before = done_count(db_path, "restart")
    started = time.perf_counter()
    second = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        while done_count(db_path, "restart") <= before:
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="kokoro")
    parser.add_argument("--engine-class", help="'module:Class' registering --engine first")
    parser.add_argument("--n", type=int, default=100, help="items per run (default 100)")
    parser.add_argument("--delay-s", type=float, default=0.0, help="per-item delay of the fake engine")
    parser.add_argument("--skip-restart", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--kill-after", type=int, default=5, help="items done before the SIGKILL (default 5)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT))
    os.environ["FAKE_ENGINE_DELAY_S"] = str(args.delay_s)
    from glmtts.synthesis import engine_config, open_runtime

    load_started = time.perf_counter()
    runtime = open_runtime(engine_config(args.engine, engine_class=args.engine_class))
    load_s = time.perf_counter() - load_started
    runtime.service.call(lambda engine: engine.warmup()).result()
    print(f"engine={args.engine} items={args.n} engine_load_s={load_s:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="glmtts-bench-batch-") as tmp:
        workdir = Path(tmp)
        if not args.skip_throughput:
            report_throughput(runtime, args.n, workdir)
        if not args.skip_restart:
            restart_s = time_restart(args, workdir, args.kill_after)
            print(
                f"restart after SIGKILL -> first resumed item: {restart_s:.2f} s (engine load alone {load_s:.2f} s)"
            )


def report_throughput(runtime, n_items: int, workdir: Path) -> None:  # type: ignore[no-untyped-def]
    direct_s = time_direct(runtime, n_items)
    job_s = time_job(runtime, n_items, workdir, "run1")
    direct_again_s = time_direct(runtime, n_items)
    direct_mean_s = (direct_s + direct_again_s) / 2
    overhead = job_s / direct_mean_s - 1.0
    print(f"{'':24}{'seconds':>10}{'items/min':>12}")
    print(f"{'direct engine calls':24}{direct_mean_s:10.2f}{60 * n_items / direct_mean_s:12.1f}")
    print(f"{'batch job':24}{job_s:10.2f}{60 * n_items / job_s:12.1f}")
    per_item_ms = 1000 * (job_s - direct_mean_s) / n_items
    print(f"job overhead: {100 * overhead:+.1f} % ({per_item_ms:+.1f} ms/item; target <= 5 %)", flush=True)


if __name__ == "__main__":
    main()
