"""One way to write a file so that nobody ever sees half of it: a temporary file beside the target, renamed.

Every writer in glmtts (audio outputs, stored voices, job results and archives, the pronunciation
dictionary, CLI outputs, caches) goes through :func:`atomic_write`. The temporary file is named
``.<target name>.<random>.part`` in the target's folder, so a crash leaves at most such a file behind;
:func:`remove_partials` clears them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, overload

PARTIAL_SUFFIX = ".part"


@overload
def atomic_write(
    path: str | Path, mode: Literal["wb"] = "wb", *, fsync: bool = True
) -> contextlib.AbstractContextManager[IO[bytes]]: ...
@overload
def atomic_write(
    path: str | Path, mode: Literal["w"], *, fsync: bool = True
) -> contextlib.AbstractContextManager[IO[str]]: ...
def atomic_write(
    path: str | Path, mode: str = "wb", *, fsync: bool = True
) -> contextlib.AbstractContextManager[IO[Any]]:
    """Open a temporary file beside ``path``; on success (optionally fsync and) rename it into place.

    ``mode`` is ``"wb"`` (bytes) or ``"w"`` (UTF-8 text). On any exception the temporary file is removed
    and ``path`` is untouched. ``fsync=False`` skips flushing to disk: readers and a killed process still
    never see half a file; only a power loss can lose it.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', got {mode!r}")
    return _atomic(Path(path), mode, fsync)


@contextlib.contextmanager
def _atomic(target: Path, mode: str, fsync: bool) -> Iterator[IO[Any]]:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PARTIAL_SUFFIX, dir=target.parent)
    try:
        encoding = "utf-8" if mode == "w" else None
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def remove_partials(folder: Path, pattern: str = "*") -> int:
    """Delete the temporary files :func:`atomic_write` left in ``folder`` after a crash; return how many."""
    count = 0
    for partial in Path(folder).glob(f".{pattern}{PARTIAL_SUFFIX}"):
        partial.unlink(missing_ok=True)
        count += 1
    return count
