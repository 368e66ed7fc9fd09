"""What every tab of the UI shares: the server's services and a scratch directory for produced files."""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glmtts.engines.base import Capabilities

if TYPE_CHECKING:
    from glmtts.serving.composition import Services

_LOGGER = logging.getLogger(__name__)

#: Files kept in the scratch directory; older ones are removed as new ones arrive.
MAX_SCRATCH_FILES = 200


class ScratchDir:
    """A private temporary directory for files handed to Gradio (audio results, archive copies).

    Gradio serves only files under its allowed roots (the system temporary directory is one), so results are
    written here. The directory keeps at most ``max_files`` files, oldest removed first.
    """

    def __init__(self, root: Path | None = None, max_files: int = MAX_SCRATCH_FILES) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="glmtts-ui-", dir=root))
        self.max_files = max_files
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._files: list[Path] = []

    def new_path(self, stem: str, suffix: str) -> Path:
        """A fresh path ``<root>/<n>/<stem><suffix>`` (the readable name is kept for downloads)."""
        with self._lock:
            folder = self.root / str(next(self._counter))
            folder.mkdir()
            path = folder / f"{stem}{suffix}"
            self._files.append(path)
            while len(self._files) > self.max_files:
                old = self._files.pop(0)
                shutil.rmtree(old.parent, ignore_errors=True)
        return path

    def write_bytes(self, stem: str, suffix: str, data: bytes) -> str:
        """Write ``data`` to a new file; return its path as the string Gradio components expect."""
        path = self.new_path(stem, suffix)
        path.write_bytes(data)
        return str(path)

    def link_copy(self, source: Path, name: str | None = None) -> str:
        """A hard link to ``source`` in the scratch directory (a copy across file systems); its path."""
        target = self.new_path(Path(name or source.name).stem, Path(name or source.name).suffix)
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
        return str(target)

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class UiContext:
    """The services of the running server plus UI-only helpers; one per mounted UI."""

    services: Services
    scratch: ScratchDir = field(default_factory=ScratchDir)

    @property
    def capabilities(self) -> Capabilities:
        """What the engine supports (what the form shows); the engine's own declaration."""
        info = self.services.runtime.host.info
        return info.capabilities if info is not None else self.services.runtime.engine.capabilities()


@dataclass(frozen=True)
class Refresh:
    """A component update to run when the page loads or its tab is selected: ``outputs = compute()``."""

    compute: Callable[[], Any]
    outputs: list[Any]
