"""Safe extraction of an uploaded zip of prompt clips into a job's root directory.

Every member is checked before a single byte is written: absolute names, drive letters, backslashes and
``..`` components (zip-slip), symbolic links, encrypted members, too many members, members or totals above
the size limits and suspicious compression ratios (zip bombs) reject the whole upload. While extracting,
the bytes actually produced are counted again, since the sizes a zip declares can lie. Files are created
with ``O_EXCL`` so nothing existing is overwritten; on any failure the caller removes the destination.
"""

from __future__ import annotations

import logging
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from glmtts.errors import InvalidBatchError, PayloadTooLargeError, UnsupportedMediaError

_LOGGER = logging.getLogger(__name__)
_CHUNK_BYTES = 1 << 16


@dataclass(frozen=True)
class UploadLimits:
    """Bounds on an uploaded zip of prompt clips."""

    max_members: int = 2_000
    max_member_bytes: int = 50 * 1024 * 1024
    max_total_bytes: int = 512 * 1024 * 1024
    #: uncompressed / compressed above this (for members over 1 MiB) is treated as a zip bomb
    max_ratio: float = 100.0


def extract_prompt_zip(source: Path | IO[bytes], dest: Path, limits: UploadLimits | None = None) -> list[str]:
    """Extract the zip ``source`` into the new directory ``dest``; return the member names written."""
    limits = limits or UploadLimits()
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsupportedMediaError(f"the prompt upload is not a readable zip file ({exc})") from None
    with archive:
        plan = _checked_members(archive, limits)
        dest.mkdir(parents=True, exist_ok=False)
        for info, relative in plan:
            _extract_member(archive, info, dest / relative, limits)
    _LOGGER.info("extracted %d prompt files into %s", len(plan), dest)
    return [str(relative) for _, relative in plan]


def _checked_members(
    archive: zipfile.ZipFile, limits: UploadLimits
) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise PayloadTooLargeError(
            f"the zip holds {len(infos)} entries; at most {limits.max_members} are accepted"
        )
    plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    total = 0
    for info in infos:
        relative = safe_member_path(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise InvalidBatchError(
                f"zip member {info.filename!r} is a symbolic link; links are not accepted"
            )
        if info.flag_bits & 0x1:
            raise InvalidBatchError(f"zip member {info.filename!r} is encrypted")
        if info.is_dir():
            continue
        _check_sizes(info, limits)
        total += info.file_size
        if total > limits.max_total_bytes:
            raise PayloadTooLargeError(f"the zip expands to more than {limits.max_total_bytes} bytes")
        plan.append((info, relative))
    return plan


def safe_member_path(name: str) -> PurePosixPath:
    """The relative path of a zip member, or :class:`InvalidBatchError` if it could escape."""
    if not name or "\x00" in name or "\\" in name:
        raise InvalidBatchError(f"zip member name {name!r} is not a safe relative path")
    path = PurePosixPath(name)
    parts = [part for part in path.parts if part not in ("", ".")]
    if path.is_absolute() or ".." in parts or not parts or ":" in parts[0]:
        raise InvalidBatchError(f"zip member {name!r} points outside the upload (zip-slip); rejected")
    return PurePosixPath(*parts)


def _check_sizes(info: zipfile.ZipInfo, limits: UploadLimits) -> None:
    if info.file_size > limits.max_member_bytes:
        raise PayloadTooLargeError(
            f"zip member {info.filename!r} is {info.file_size} bytes; at most {limits.max_member_bytes} per file"
        )
    if info.file_size > (1 << 20) and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise PayloadTooLargeError(
            f"zip member {info.filename!r} has a suspicious compression ratio (zip bomb?)"
        )


def _extract_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limits: UploadLimits
) -> None:
    allowed = min(info.file_size, limits.max_member_bytes)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, open(target, "xb") as dst:
            written = 0
            while chunk := src.read(_CHUNK_BYTES):
                written += len(chunk)
                if written > allowed:
                    raise PayloadTooLargeError(
                        f"zip member {info.filename!r} expands beyond its declared size"
                    )
                dst.write(chunk)
    except FileExistsError:
        raise InvalidBatchError(f"zip member {info.filename!r} appears twice") from None
    except (zipfile.BadZipFile, NotADirectoryError, IsADirectoryError, EOFError) as exc:
        raise InvalidBatchError(f"zip member {info.filename!r} cannot be extracted ({exc})") from None
    except NotImplementedError as exc:
        raise UnsupportedMediaError(
            f"zip member {info.filename!r} uses an unsupported compression ({exc})"
        ) from None


def remove_tree(path: Path) -> None:
    """Remove a directory tree created by the job machinery (best effort, never follows links out)."""
    if path.is_symlink():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
