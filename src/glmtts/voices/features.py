"""Voice features on disk: ``numpy.savez`` files written atomically, loaded without pickles.

:class:`FeatureCache` is the on-disk tier of the voice cache: the features of prompt clips by engine and
content id, so a clip seen before a restart (a resumed batch job, a repeated upload) is not extracted
again. It keeps at most ``max_entries`` files per engine, removing the least recently used.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from glmtts.atomic import atomic_write, remove_partials

_LOGGER = logging.getLogger(__name__)


def save_features(path: Path, features: Mapping[str, np.ndarray], fsync: bool = True) -> None:
    """Write features as an ``.npz`` file (atomically)."""
    arrays: dict[str, Any] = {key: np.asarray(value) for key, value in features.items()}
    with atomic_write(path, fsync=fsync) as handle:
        np.savez(handle, **arrays)


def load_features(path: Path) -> dict[str, np.ndarray]:
    """Read an ``.npz`` written by :func:`save_features` (no pickles)."""
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


class FeatureCache:
    """Prompt-voice features under ``root/<engine>/<content_id>.npz``, least recently used removed first."""

    def __init__(self, root: Path, max_entries: int = 1000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.root = Path(root)
        self.max_entries = max_entries

    def _path(self, engine: str, content_id: str) -> Path:
        return self.root / engine / f"{content_id}.npz"

    def get(self, engine: str, content_id: str) -> dict[str, np.ndarray] | None:
        path = self._path(engine, content_id)
        if not path.is_file():
            return None
        try:
            features = load_features(path)
            os.utime(path)  # most recently used
        except (OSError, ValueError, KeyError) as exc:
            _LOGGER.warning("ignoring unreadable voice features %s: %s", path, exc)
            return None
        return features

    def put(self, engine: str, content_id: str, features: Mapping[str, np.ndarray]) -> None:
        """Store features (best effort: a failure only costs an extraction later)."""
        path = self._path(engine, content_id)
        try:
            save_features(path, features, fsync=False)
            self._evict(path.parent)
        except (OSError, ValueError) as exc:
            _LOGGER.warning("could not cache voice features in %s: %s", path.parent, exc)

    def _evict(self, folder: Path) -> None:
        files = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime_ns)
        for old in files[: max(0, len(files) - self.max_entries)]:
            old.unlink(missing_ok=True)

    def clean(self) -> None:
        """Remove temporary files a crash left behind."""
        if self.root.is_dir():
            for folder in (p for p in self.root.iterdir() if p.is_dir()):
                remove_partials(folder)
