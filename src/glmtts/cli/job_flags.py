"""What ``glmtts batch run`` and ``glmtts batch submit`` share: the caption flags and reading the job file."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_caption_flags(parser: argparse.ArgumentParser) -> None:
    """``--captions`` and ``--timestamps`` of a batch job (run here or submitted)."""
    parser.add_argument(
        "--captions", action="store_true", help="write <uttid>.srt and <uttid>.vtt beside each wav"
    )
    parser.add_argument(
        "--timestamps",
        choices=("segment", "word"),
        help="caption timing (default segment; implies --captions)",
    )


def caption_options(args: argparse.Namespace) -> dict[str, str]:
    """The job options those flags ask for (none when neither was given)."""
    if not (args.captions or args.timestamps):
        return {}
    return {"captions": "true", "timestamps": args.timestamps or "segment"}


def read_job_file(path: Path) -> bytes:
    """The JSONL file's bytes; an unreadable file is an :class:`~glmtts.errors.InvalidBatchError`."""
    from glmtts.errors import InvalidBatchError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidBatchError(f"cannot read {path}: {exc.strerror or exc}") from None
