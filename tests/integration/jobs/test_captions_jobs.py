"""Batch captions: the JSONL header or the submit call asks; ``<uttid>.srt``/``.vtt`` beside each WAV and in
the archive, timed against the WAV itself; ``glmtts batch run --captions`` and ``glmtts synth --captions``."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
import soundfile as sf
import srt
import webvtt

from glmtts.audio.captions import vtt_time
from glmtts.cli.main import main
from glmtts.errors import InvalidBatchError
from glmtts.jobs.input import PromptResolver, header_options, parse_batch_input
from glmtts.jobs.manager import JobManager
from glmtts.jobs.store import JobState
from glmtts.synthesis import Runtime
from tests.support.jobs.fixtures import FAKE_ENGINE_PATH, jsonl_bytes

ENGINE_ARGS = ["--engine", "fake", "--engine-class", FAKE_ENGINE_PATH]
LINES = [
    {"uttid": "a", "voice": "fake_f", "syn_text": "First sentence. Second one here!"},
    {"uttid": "b.1", "voice": "fake_m", "syn_text": "Only one."},
]


def _run_job(tmp_path: Path, runtime: Runtime, data: bytes, **options: object) -> tuple[JobManager, str]:
    manager = JobManager(tmp_path / "workdir", runtime.service, outputs_dir=tmp_path / "outputs")
    job_id = manager.submit(data, options=options or None).job_id
    manager.start()
    deadline = time.monotonic() + 30
    while not (job := manager.get(job_id)).state.finished:
        assert time.monotonic() < deadline, job
        time.sleep(0.01)
    manager.stop()
    assert job.state is JobState.DONE and job.n_done == 2
    return manager, job_id


def _check_captions(wav: bytes, srt_text: str, vtt_text: str, sentences: list[str]) -> None:
    info = sf.info(io.BytesIO(wav))
    cues = list(srt.parse(srt_text))
    assert [c.content for c in cues] == sentences
    assert cues[-1].end.total_seconds() == pytest.approx(info.frames / info.samplerate, abs=1e-3)
    assert [c.text for c in webvtt.from_buffer(io.StringIO(vtt_text))] == sentences


def test_header_line_asks_for_captions_and_the_archive_carries_them(tmp_path: Path, runtime: Runtime) -> None:
    data = jsonl_bytes([{"options": {"captions": True}}, *LINES])
    manager, job_id = _run_job(tmp_path, runtime, data)
    out = tmp_path / "outputs" / job_id
    assert sorted(p.name for p in out.iterdir() if p.suffix in (".wav", ".srt", ".vtt")) == [
        "a.srt",
        "a.vtt",
        "a.wav",
        "b.1.srt",
        "b.1.vtt",
        "b.1.wav",
    ]
    with zipfile.ZipFile(manager.archive_path(job_id)) as archive:
        names = set(archive.namelist())
        assert {"a.wav", "a.srt", "a.vtt", "b.1.wav", "b.1.srt", "b.1.vtt"} <= names
        _check_captions(
            archive.read("a.wav"),
            archive.read("a.srt").decode(),
            archive.read("a.vtt").decode(),
            ["First sentence.", "Second one here!"],
        )


def test_submit_option_asks_for_captions_without_a_header(tmp_path: Path, runtime: Runtime) -> None:
    _, job_id = _run_job(tmp_path, runtime, jsonl_bytes(LINES), captions="true", timestamps="word")
    out = tmp_path / "outputs" / job_id
    _check_captions(
        (out / "b.1.wav").read_bytes(),
        (out / "b.1.srt").read_text(),
        (out / "b.1.vtt").read_text(),
        ["Only one."],
    )


def test_no_captions_unless_asked(tmp_path: Path, runtime: Runtime) -> None:
    manager, job_id = _run_job(tmp_path, runtime, jsonl_bytes(LINES))
    assert not list((tmp_path / "outputs" / job_id).glob("*.srt"))
    with zipfile.ZipFile(manager.archive_path(job_id)) as archive:
        assert not [n for n in archive.namelist() if n.endswith((".srt", ".vtt"))]


def test_header_parsing(tmp_path: Path) -> None:
    data = jsonl_bytes([{"options": {"captions": True, "seed": 3}}, *LINES])
    assert header_options(data) == {"captions": True, "seed": 3}
    batch = parse_batch_input(data, PromptResolver([tmp_path]))
    assert [i.line_no for i in batch.items] == [2, 3] and batch.n_valid == 2
    assert header_options(jsonl_bytes(LINES)) == {}
    with pytest.raises(InvalidBatchError):
        header_options(jsonl_bytes([{"options": [1]}, *LINES]))
    with pytest.raises(InvalidBatchError):
        parse_batch_input(jsonl_bytes([{"options": {}}]), PromptResolver([tmp_path]))


def test_batch_run_cli_writes_captions(tmp_path: Path) -> None:
    book = tmp_path / "book.jsonl"
    book.write_bytes(jsonl_bytes(LINES))
    out = tmp_path / "out"
    argv = ["batch", "run", str(book), "--out", str(out), *ENGINE_ARGS, "--no-progress", "--captions"]
    assert main(argv) == 0
    srts = sorted(p.name for p in out.rglob("*.srt"))
    assert srts == ["a.srt", "b.1.srt"] and len(list(out.rglob("*.vtt"))) == 2


@pytest.mark.parametrize("stream", [False, True])
def test_synth_cli_captions(tmp_path: Path, stream: bool) -> None:
    wav, captions = tmp_path / "out.wav", tmp_path / "out.vtt"
    text = "Hello there. How are you today?"
    argv = ["synth", text, "-o", str(wav), "--captions", str(captions), *ENGINE_ARGS]
    assert main([*argv, "--stream"] if stream else argv) == 0
    cues = list(webvtt.read(str(captions)))
    assert [c.text for c in cues] == ["Hello there.", "How are you today?"]
    info = sf.info(wav)
    assert cues[-1].end == vtt_time(info.frames / info.samplerate)
    srt_path = tmp_path / "out.srt"
    assert main(["synth", text, "-o", str(srt_path), *ENGINE_ARGS]) == 0  # captions alone
    assert [c.content for c in srt.parse(srt_path.read_text())] == ["Hello there.", "How are you today?"]


def test_synth_cli_refuses_a_caption_file_of_another_kind(tmp_path: Path) -> None:
    argv = [
        "synth",
        "Hi.",
        "-o",
        str(tmp_path / "o.wav"),
        "--captions",
        str(tmp_path / "c.txt"),
        *ENGINE_ARGS,
    ]
    assert main(argv) == 2
    assert not (tmp_path / "o.wav").exists()
