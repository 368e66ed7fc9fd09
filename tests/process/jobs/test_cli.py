"""``glmtts batch run`` (resumable, survives SIGKILL), ``glmtts infer`` and the HTTP client actions."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf

from glmtts.cli.main import main
from tests.support.fake_engine import SAMPLE_RATE
from tests.support.jobs.fixtures import FAKE_ENGINE_PATH, item, jsonl_bytes, write_prompt

ENGINE_ARGS = ["--engine", "fake", "--engine-class", FAKE_ENGINE_PATH]


@pytest.fixture
def book(tmp_path: Path) -> Path:
    write_prompt(tmp_path / "prompts" / "a.wav")
    path = tmp_path / "book.jsonl"
    path.write_bytes(jsonl_bytes(item(str(i), f"sentence {i}.") for i in range(40)))
    return path


def _done_count(db_path: Path, job_id: str) -> int:
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM items WHERE job_id = ? AND state = 'done'", (job_id,)
            ).fetchone()
    except sqlite3.OperationalError:
        return 0
    return int(row[0])


def _run_cli_in_child(argv: list[str], env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the child exits without cleanup
    os._exit(main(argv))


def _start_runner(book: Path, out: Path, log: Path) -> multiprocessing.process.BaseProcess:
    """A ``glmtts batch run`` process, forked so it skips the interpreter start-up and imports."""
    env = {"FAKE_ENGINE_DELAY_S": "0.03", "FAKE_ENGINE_LOG": str(log)}
    argv = ["batch", "run", str(book), "--out", str(out), "--job-id", "book", *ENGINE_ARGS, "--no-progress"]
    process = multiprocessing.get_context("fork").Process(target=_run_cli_in_child, args=(argv, env))
    process.start()
    return process


def test_sigkill_twice_then_complete_with_every_item_exactly_once(book: Path, tmp_path: Path):
    out, log = tmp_path / "out", tmp_path / "synth.log"
    db_path = out / ".glmtts-jobs.sqlite3"
    for kill_after in (8, 20):
        process = _start_runner(book, out, log)
        deadline = time.monotonic() + 30
        while _done_count(db_path, "book") < kill_after:
            assert process.is_alive() and time.monotonic() < deadline
            time.sleep(0.005)
        assert process.pid is not None
        os.kill(process.pid, signal.SIGKILL)
        process.join()
        assert process.exitcode == -signal.SIGKILL
        assert _done_count(db_path, "book") < 40
    process = _start_runner(book, out, log)
    process.join(timeout=60)
    assert process.exitcode == 0

    job_dir = out / "book"
    results = [json.loads(line) for line in (job_dir / "results.jsonl").read_text().splitlines()]
    assert [r["uttid"] for r in results] == [str(i) for i in range(40)]
    assert all(r["status"] == "done" for r in results)
    assert sorted(p.name for p in job_dir.glob("*.wav")) == sorted(f"{i}.wav" for i in range(40))
    assert not list(job_dir.glob(".*.part"))
    for i in range(40):
        info = sf.info(job_dir / f"{i}.wav")
        assert info.samplerate == SAMPLE_RATE and info.frames > 0
    with zipfile.ZipFile(out / "book.zip") as archive:
        assert len(archive.namelist()) == 41
    # Each item completed exactly once; only an item in flight at a kill may have been started again.
    synthesized = Counter(log.read_text().splitlines())
    assert set(synthesized) == {f"sentence {i}." for i in range(40)}
    assert sum(synthesized.values()) <= 40 + 2 and max(synthesized.values()) <= 2


def test_batch_run_reports_bad_lines_and_rerun_resumes(book: Path, tmp_path: Path, capsys):
    records = [item("0", "fine."), "{oops", item("2", "BOOM."), item("3", "also fine.")]
    book.write_bytes(jsonl_bytes(records))
    out = tmp_path / "out"
    assert main(["batch", "run", str(book), "--out", str(out), *ENGINE_ARGS, "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "line 2: not valid JSON" in captured.err
    job_dirs = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(job_dirs) == 1 and job_dirs[0].name.startswith("book-")
    assert sorted(p.name for p in job_dirs[0].glob("*.wav")) == ["0.wav", "3.wav"]
    assert main(["batch", "run", str(book), "--out", str(out), *ENGINE_ARGS, "--no-progress"]) == 1
    assert "resuming (2 done, 2 failed so far)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"", "is empty"), (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8"), (b"a,b,c\n", "not valid JSON")],
)
def test_batch_run_bad_file_exits_2(tmp_path: Path, capsys, content: bytes, fragment: str):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    assert main(["batch", "run", str(path), "--out", str(tmp_path / "o"), *ENGINE_ARGS]) == 2
    assert fragment in capsys.readouterr().err


def test_infer_is_upstream_compatible(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_prompt(tmp_path / "examples" / "prompt" / "zh.wav")
    records = [
        item("0", "我看了《疯狂元素城》，里边水火元素谈恋爱的设定很妙！", "examples/prompt/zh.wav"),
        item("1", "今天是2024年3月5日。", "examples/prompt/zh.wav"),
    ]
    (tmp_path / "examples" / "example_zh.jsonl").write_bytes(jsonl_bytes(records))
    argv = [
        "infer",
        "--data",
        "example_zh",
        "--exp_name",
        "_test",
        "--use_cache",
        "--use_phoneme",
        *ENGINE_ARGS,
    ]
    assert main([*argv, "--no-progress"]) == 0
    out_dir = tmp_path / "outputs" / "pretrain_test" / "example_zh"
    assert sorted(p.name for p in out_dir.iterdir()) == ["0.wav", "1.wav", "text_compare.jsonl"]
    info = sf.info(out_dir / "0.wav")
    assert info.samplerate == 24000 and info.duration > 0.2
    lines = [json.loads(line) for line in (out_dir / "text_compare.jsonl").read_text("utf-8").splitlines()]
    assert [line["uttid"] for line in lines] == ["0", "1"]
    assert all(isinstance(line["syn_text_tn"], list) and line["syn_text_tn"] for line in lines)
    assert lines[0]["syn_text_phoneme"] is not None
    assert main(["infer", "--data", "nope", *ENGINE_ARGS]) == 2
    assert "available: example_zh" in capsys.readouterr().err
