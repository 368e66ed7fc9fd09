"""A batch job survives its server being killed (SIGKILL, whole process group) twice mid-run.

The real ``glmtts serve`` runs in a subprocess on the jobs fake engine (a tone per item after a short
delay); the engine appends each completed synthesis to a log file shared by all server runs, which is how
the test proves that no finished item was synthesized again after a restart.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile as sf

from glmtts.jobs.archive import RESULTS_NAME as RESULTS
from tests.support.fake_engine import SAMPLE_RATE, expected_samples
from tests.support.harness import REPO_ROOT, ServerProcess, free_port
from tests.support.jobs.fixtures import FAKE_ENGINE_PATH, item, jsonl_bytes, write_prompt

pytest.importorskip("uvicorn")

N_ITEMS = 30
#: Seconds the fake engine spends per item: long enough for a kill to land mid-item.
ITEM_DELAY_S = 0.15
JOB_ID = "sigkill-1"
#: Generous: the test machine may be heavily loaded.
DEADLINE_S = 60.0


class KillableServer(ServerProcess):
    """``glmtts serve`` in its own process group, with a chosen working directory (outputs land there).

    Reuses :class:`ServerProcess`'s readiness polling, log reading and graceful close, but not its
    ``__init__`` (that one starts the server in the test's own process group and working directory);
    adds :meth:`kill_group`.
    """

    def __init__(self, cwd: Path, workdir: Path, run_no: int, engine_options: dict[str, Any]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = cwd / f"server-{run_no}.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "src")]),
            "GLMTTS_ENGINE_OPTIONS": json.dumps(engine_options),
        }
        command = [
            sys.executable, "-m", "glmtts", "serve", "--port", str(self.port), "--workdir", str(workdir),
            "--engine", "fake", "--engine-class", FAKE_ENGINE_PATH, "--no-ui", "--warmup-rounds", "0",
        ]  # fmt: skip
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            command, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        self.client = httpx.Client(base_url=self.url, timeout=10.0)

    def kill_group(self) -> None:
        """SIGKILL the server and every process it started, then reap it."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.client.close()
        self._log.close()


@pytest.fixture
def servers() -> Iterator[list[KillableServer]]:
    started: list[KillableServer] = []
    yield started
    for server in started:
        server.kill_group()


def _wait_for(what: str, check: Callable[[], Any], server: KillableServer) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while not (value := check()):
        assert server.process.poll() is None, f"server exited while waiting for {what}:\n{server.log()}"
        assert time.monotonic() < deadline, f"no {what} after {DEADLINE_S} s:\n{server.log()}"
        time.sleep(0.03)
    return value


def _job(server: KillableServer) -> dict[str, Any]:
    answer = server.client.get(f"/v1/jobs/{JOB_ID}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _logged(log: Path) -> list[str]:
    return log.read_text("utf-8").splitlines() if log.exists() else []


def _text(index: int) -> str:
    return f"line {index}."


def _uttid(index: int) -> str:
    return f"u{index:02d}"


def _in_flight(log: Path, out_dir: Path) -> set[str]:
    """Texts synthesized whose WAV is not there (yet): a kill now may legitimately redo them."""
    by_text = {_text(i): _uttid(i) for i in range(N_ITEMS)}
    return {text for text in _logged(log) if not (out_dir / f"{by_text[text]}.wav").exists()}


def _kill_mid_item(server: KillableServer, log: Path, out_dir: Path) -> tuple[set[str], str]:
    """Kill right after an item's WAV appears, i.e. early in the next item.

    Returns the texts synthesized but not yet written (a redo of those is legitimate; normally none) and
    the uttid of the first item without output (the one interrupted; items run in line order).
    """
    n_logged = len(_logged(log))
    _wait_for("a new synthesis", lambda: len(_logged(log)) > n_logged, server)
    _wait_for("its output", lambda: not _in_flight(log, out_dir), server)
    server.kill_group()
    pending = next(_uttid(i) for i in range(N_ITEMS) if not (out_dir / f"{_uttid(i)}.wav").exists())
    return _in_flight(log, out_dir), pending


def _submit(server: KillableServer, cwd: Path) -> None:
    write_prompt(cwd / "clips" / "a.wav")
    prompts = io.BytesIO()
    with zipfile.ZipFile(prompts, "w") as bundle:
        bundle.write(cwd / "clips" / "a.wav", "prompts/a.wav")
    records = [
        item(_uttid(i), _text(i)) if i % 2 else {"uttid": _uttid(i), "voice": "fake_f", "syn_text": _text(i)}
        for i in range(N_ITEMS)
    ]
    files = {
        "file": ("book.jsonl", jsonl_bytes(records), "application/x-ndjson"),
        "prompts": ("clips.zip", prompts.getvalue(), "application/zip"),
    }
    answer = server.client.post("/v1/jobs", files=files, data={"job_id": JOB_ID, "seed": "5"})
    assert answer.status_code == 202, answer.text
    assert answer.json()["failures"] == []


def test_job_completes_after_two_server_sigkills(tmp_path: Path, servers: list[KillableServer]) -> None:
    cwd, workdir = tmp_path / "cwd", tmp_path / "cwd" / "state"
    cwd.mkdir()
    log, prepare_log = tmp_path / "synth.log", tmp_path / "prepare.log"
    engine_options = {"delay_s": ITEM_DELAY_S, "log_path": str(log), "prepare_log_path": str(prepare_log)}
    out_dir = cwd / "outputs" / "batch" / JOB_ID

    def start() -> KillableServer:
        server = KillableServer(cwd, workdir, len(servers), engine_options)
        servers.append(server)
        server.wait_ready(timeout_s=DEADLINE_S)
        return server

    server = start()
    _submit(server, cwd)
    _wait_for("3 items done", lambda: _job(server)["counts"]["done"] >= 3, server)
    redo_allowed, first_interrupted = _kill_mid_item(server, log, out_dir)
    n_before = len(_logged(log))
    server = start()
    _wait_for("resumed progress", lambda: len(_logged(log)) > n_before, server)
    more_redo, second_interrupted = _kill_mid_item(server, log, out_dir)
    redo_allowed |= more_redo
    server = start()
    job = _wait_for("the job's end", lambda: (j := _job(server))["state"] != "running" and j, server)

    assert job["state"] == "done" and job["counts"]["done"] == N_ITEMS and job["failures"] == [], job
    # every item synthesized exactly once (a redo is only allowed for one caught between synthesis and
    # write by a kill; the kills are timed so that normally none is)
    repeated = {text for text, count in Counter(_logged(log)).items() if count > 1}
    assert repeated <= redo_allowed and len(redo_allowed) <= 2, (repeated, redo_allowed)
    assert set(_logged(log)) == {_text(i) for i in range(N_ITEMS)}
    # voice features are prepared at most once per server run (stored with the job, reused after restarts)
    assert len(_logged(prepare_log)) <= len(servers)
    results = [json.loads(line) for line in (out_dir / "results.jsonl").read_text("utf-8").splitlines()]
    retried = {r["uttid"] for r in results if r["attempts"] > 1}
    assert retried <= {first_interrupted, second_interrupted} and max(r["attempts"] for r in results) <= 2
    _assert_complete_outputs(results, out_dir, cwd)
    archive = server.client.get(f"/v1/jobs/{JOB_ID}/archive")
    assert archive.status_code == 200, archive.text
    with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
        assert sorted(bundle.namelist()) == sorted([f"{_uttid(i)}.wav" for i in range(N_ITEMS)] + [RESULTS])
        assert bundle.read("u07.wav") == (out_dir / "u07.wav").read_bytes()
        assert bundle.read(RESULTS) == (out_dir / RESULTS).read_bytes()
    assert server.close() == 0, server.log()


def _assert_complete_outputs(results: list[dict[str, Any]], out_dir: Path, cwd: Path) -> None:
    """results.jsonl lists each item once, in line order, done; each WAV is whole; no temporary files."""
    assert [r["uttid"] for r in results] == [_uttid(i) for i in range(N_ITEMS)]
    assert all(r["status"] == "done" for r in results)
    for index in range(N_ITEMS):
        samples, sample_rate = sf.read(out_dir / f"{_uttid(index)}.wav")
        expected = expected_samples(_text(index))
        assert sample_rate == SAMPLE_RATE and len(samples) == expected, index
        assert abs(results[index]["audio_s"] - expected / SAMPLE_RATE) < 1e-3
        assert float(abs(samples).max()) > 0.1
    assert not [p for p in cwd.rglob("*") if p.name.endswith(".part")]
    visible = {p.name for p in out_dir.iterdir() if not p.name.startswith(".")}
    assert visible == {f"{_uttid(i)}.wav" for i in range(N_ITEMS)} | {RESULTS}
