"""Prompt-voice features kept on disk per job, so a restarted job does not extract them again.

Extracting a prompt's features can take longer than synthesizing an item (pitch and formant analysis), so
after a crash the runner reloads them from ``<out_dir>/.voices/<key>.npz``. The key hashes the engine name,
the prompt file (path, size, modification time) and its transcript; files are written to a temporary name
and renamed, and loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from glmtts.engines.base import Voice

_LOGGER = logging.getLogger(__name__)
_ID_KEY = "__voice_id__"


class PersistedVoices:
    """Prompt voices of one job for one engine, stored in ``folder`` (``None``: not persisted)."""

    def __init__(self, folder: Path | None, engine_name: str) -> None:
        self.folder = folder
        self.engine_name = engine_name

    def load(self, prompt_path: str, prompt_text: str | None) -> Voice | None:
        """The stored voice of a prompt, or None (also when the file is unreadable)."""
        path = self._path(prompt_path, prompt_text)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as archive:
                features = {key: archive[key] for key in archive.files if key != _ID_KEY}
                voice_id = str(archive[_ID_KEY])
        except (OSError, ValueError, KeyError) as exc:
            _LOGGER.warning("ignoring unreadable voice cache %s: %s", path, exc)
            return None
        return Voice(voice_id=voice_id, engine=self.engine_name, prompt_text=prompt_text, features=features)

    def save(self, prompt_path: str, prompt_text: str | None, voice: Voice) -> None:
        """Store a voice's features (best effort: a failure only costs a re-extraction later)."""
        path = self._path(prompt_path, prompt_text)
        if path is None or _ID_KEY in voice.features:
            return
        folder = path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".part", dir=folder)
            with os.fdopen(fd, "wb") as handle:
                arrays: dict[str, Any] = {key: np.asarray(value) for key, value in voice.features.items()}
                arrays[_ID_KEY] = np.array(voice.voice_id)
                np.savez(handle, **arrays)
            os.replace(tmp_name, path)
        except (OSError, ValueError) as exc:
            _LOGGER.warning("could not cache voice features in %s: %s", folder, exc)

    def _path(self, prompt_path: str, prompt_text: str | None) -> Path | None:
        if self.folder is None:
            return None
        try:
            stat = os.stat(prompt_path)
        except OSError:
            return None
        digest = hashlib.sha256()
        for part in (
            self.engine_name,
            prompt_path,
            str(stat.st_size),
            str(stat.st_mtime_ns),
            prompt_text or "",
        ):
            digest.update(part.encode("utf-8") + b"\x00")
        return self.folder / f"{digest.hexdigest()[:32]}.npz"
