"""A finished job's deliverables: ``results.jsonl`` and ``<job_id>.zip``.

``results.jsonl`` (in the job's output folder) has one line per input line, in input order::

    {"line": 1, "uttid": "0", "status": "done", "output": "0.wav", "error": null, "attempts": 1,
     "audio_s": 2.41, "synth_s": 0.83, "syn_text": "…", "normalized_text": "…"}

The zip holds exactly the WAV of every done item (with its ``.srt`` and ``.vtt`` when the job asked for
captions) plus ``results.jsonl``, flat. Both files are written to a
temporary name and renamed into place, so a reader never sees half of one.
"""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path
from typing import Any

from glmtts.atomic import atomic_write
from glmtts.jobs.store import ItemRecord, ItemState, JobRecord, JobStore

_LOGGER = logging.getLogger(__name__)

RESULTS_NAME = "results.jsonl"


def result_line(item: ItemRecord) -> dict[str, Any]:
    """The ``results.jsonl`` object of one item."""
    return {
        "line": item.line_no,
        "uttid": item.uttid,
        "status": item.state.value,
        "output": item.output if item.state is ItemState.DONE else None,
        "error": item.error.as_dict() if item.error and item.state is not ItemState.DONE else None,
        "attempts": item.attempts,
        "audio_s": None if item.audio_s is None else round(item.audio_s, 3),
        "synth_s": None if item.synth_s is None else round(item.synth_s, 3),
        "syn_text": item.syn_text,
        "normalized_text": item.normalized_text,
    }


def write_results(store: JobStore, job: JobRecord) -> Path:
    """Write ``<out_dir>/results.jsonl`` from the store; return its path."""
    target = job.out_dir / RESULTS_NAME
    with atomic_write(target) as handle:
        for item in store.items(job.job_id):
            handle.write(json.dumps(result_line(item), ensure_ascii=False).encode("utf-8") + b"\n")
    return target


def _caption_files(job: JobRecord, output: str) -> list[Path]:
    """The caption files written beside ``output`` (none unless the job asked for timestamps)."""
    if job.options.get("timestamps", "none") == "none":
        return []
    wav = job.out_dir / output
    return [path for path in (wav.with_suffix(".srt"), wav.with_suffix(".vtt")) if path.is_file()]


def build_archive(store: JobStore, job: JobRecord, archive_path: Path) -> Path:
    """Write the job's zip (done WAVs + ``results.jsonl``) to ``archive_path``; return it."""
    results = write_results(store, job)
    done = store.items(job.job_id, [ItemState.DONE])
    with atomic_write(archive_path) as handle, zipfile.ZipFile(handle, "w") as archive:
        for item in done:
            if item.output is None:
                continue
            archive.write(job.out_dir / item.output, arcname=item.output, compress_type=zipfile.ZIP_STORED)
            for caption in _caption_files(job, item.output):
                archive.write(caption, arcname=caption.name, compress_type=zipfile.ZIP_DEFLATED)
        archive.write(results, arcname=RESULTS_NAME, compress_type=zipfile.ZIP_DEFLATED)
    _LOGGER.info("job %s: archive with %d outputs at %s", job.job_id, len(done), archive_path)
    return archive_path
