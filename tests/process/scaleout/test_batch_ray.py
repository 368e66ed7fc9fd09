"""``glmtts batch run FILE --ray``: Ray Data actors write the local job layout; a bad item fails alone; a
rerun after an interruption skips what was written."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import soundfile as sf

from glmtts.cli.main import main
from tests.support.fake_engine import SAMPLE_RATE, expected_samples
from tests.support.jobs.fixtures import FAKE_ENGINE_PATH, item, jsonl_bytes, write_prompt
from tests.support.scaleout.fixtures import RayCluster

TEXTS = [f"Sentence number {i}." for i in range(8)]


def _run(book: Path, out: Path) -> int:
    argv = ["batch", "run", str(book), "--out", str(out), "--job-id", "book", "--no-progress", "--ray"]
    argv += ["--actors", "2", "--actor-cpus", "0.5", "--engine", "fake", "--engine-class", FAKE_ENGINE_PATH]
    return main(argv)


def test_batch_on_ray_data_writes_the_local_layout_and_resumes(
    ray_cluster: RayCluster, tmp_path: Path
) -> None:
    write_prompt(tmp_path / "prompts" / "a.wav")
    lines = [item(str(i), text) for i, text in enumerate(TEXTS)]
    lines += [
        item("bad", "This one goes BOOM."),
        "not json",
        {"uttid": "v", "voice": "fake_m", "syn_text": "Hi."},
    ]
    book = tmp_path / "book.jsonl"
    book.write_bytes(jsonl_bytes(lines))
    out = tmp_path / "out"

    assert _run(book, out) == 1  # one item failed, one line rejected
    job_dir = out / "book"
    results = [json.loads(line) for line in (job_dir / "results.jsonl").read_text().splitlines()]
    by_uttid = {r["uttid"]: r for r in results}
    assert [r["line"] for r in results] == list(range(1, 12))
    for i, text in enumerate(TEXTS):
        result = by_uttid[str(i)]
        assert result["status"] == "done" and result["attempts"] == 1 and result["normalized_text"]
        samples, rate = sf.read(job_dir / f"{i}.wav")
        assert rate == SAMPLE_RATE and samples.size == expected_samples(text)
    assert by_uttid["v"]["status"] == "done"
    assert by_uttid["bad"]["status"] == "failed" and by_uttid["bad"]["error"]["type"] == "internal_error"
    assert results[9]["status"] == "failed" and results[9]["uttid"] is None  # the rejected line
    with zipfile.ZipFile(out / "book.zip") as archive:
        assert sorted(archive.namelist()) == sorted(
            [*(f"{i}.wav" for i in range(8)), "v.wav", "results.jsonl"]
        )

    # An interruption before the driver committed items 4-7: they are queued again; 4-6 were written.
    with sqlite3.connect(out / ".glmtts-jobs.sqlite3") as conn:
        conn.execute("UPDATE items SET state = 'queued', attempts = 0 WHERE uttid IN ('4', '5', '6', '7')")
        conn.execute("UPDATE jobs SET state = 'running'")
    (job_dir / "7.wav").unlink()
    (out / "book.zip").unlink()
    written = {i: (job_dir / f"{i}.wav").stat().st_mtime_ns for i in range(7)}

    assert _run(book, out) == 1
    assert {
        i: (job_dir / f"{i}.wav").stat().st_mtime_ns for i in range(7)
    } == written  # not synthesized again
    assert sf.read(job_dir / "7.wav")[0].size == expected_samples(TEXTS[7])
    results = [json.loads(line) for line in (job_dir / "results.jsonl").read_text().splitlines()]
    assert sum(r["status"] == "done" for r in results) == 9 and (out / "book.zip").is_file()
