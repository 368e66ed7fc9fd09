"""The voices library on disk: named prompt clips with their engine features, keyed by content id.

Layout under ``root`` (the server uses ``<workdir>/voices``)::

    <voice_id>/prompt.wav         the clip as decoded (float32 WAV, so features can be rebuilt exactly)
    <voice_id>/<engine>.npz       each engine's features (``numpy.savez``; loaded with allow_pickle=False)
    <voice_id>/meta.json          name, transcript, sample rate, duration, creation time (written last)

``voice_id`` is the clip's content id (:class:`~glmtts.voices.clips.PromptClip`), so adding the same clip
twice is free. A folder without ``meta.json`` (a crash while adding) is ignored. Several processes may
share ``root`` (a fleet of replicas on a shared path): a name or id this process does not know makes it
read the folder again (:meth:`VoiceStore.rescan`), and listing does too, so a voice stored by one process is
usable by all. This class only persists; :class:`~glmtts.voices.library.VoiceLibrary` resolves, caches and extracts.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from glmtts.atomic import atomic_write
from glmtts.errors import ConflictError, InvalidOptionError, UnknownVoiceError
from glmtts.voices.clips import PromptClip
from glmtts.voices.features import load_features, save_features

_LOGGER = logging.getLogger(__name__)

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def validate_voice_name(name: str) -> str:
    """Return ``name`` if it is a safe voice name (letters, digits, ``_ . -``; no paths), else raise."""
    if not isinstance(name, str) or not _NAME_PATTERN.fullmatch(name) or ".." in name:
        raise InvalidOptionError(
            f"invalid voice name {name!r}: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class VoiceRecord:
    """What the library knows about one stored voice."""

    voice_id: str
    name: str
    prompt_text: str | None
    sample_rate: int
    duration_s: float
    created_at: float
    engines: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["engines"] = list(self.engines)
        return data


class VoiceStore:
    """Stored voices persisted under ``root`` (None: no library; adding a voice is refused)."""

    def __init__(self, root: Path | None) -> None:
        self._root = Path(root) if root is not None else None
        self._records: dict[str, VoiceRecord] = {}
        self._lock = threading.Lock()
        self._scan()

    @property
    def root(self) -> Path:
        if self._root is None:
            raise InvalidOptionError("no voices directory is configured here (use --workdir)")
        return self._root

    def _scan(self) -> None:
        if self._root is None or not self._root.is_dir():
            return
        records: dict[str, VoiceRecord] = {}
        for meta_path in sorted(self.root.glob("*/meta.json")):
            try:
                record = self._read_record(meta_path.parent)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                _LOGGER.warning("skipping unreadable voice %s: %s", meta_path.parent, exc)
                continue
            records[record.voice_id] = record
        with self._lock:
            self._records = records

    def rescan(self) -> None:
        """Read the folder again: voices other processes stored or removed since (a shared ``root``)."""
        self._scan()

    def _read_record(self, folder: Path) -> VoiceRecord:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        engines = tuple(sorted(p.stem for p in folder.glob("*.npz")))
        return VoiceRecord(
            voice_id=str(meta["voice_id"]),
            name=str(meta["name"]),
            prompt_text=meta.get("prompt_text"),
            sample_rate=int(meta["sample_rate"]),
            duration_s=float(meta["duration_s"]),
            created_at=float(meta["created_at"]),
            engines=engines,
        )

    def list(self) -> list[VoiceRecord]:
        """Every stored voice, by name (the folder is read again first)."""
        self._scan()
        with self._lock:
            return sorted(self._records.values(), key=lambda r: r.name)

    def find(self, name_or_id: str) -> VoiceRecord | None:
        """A stored voice by name or id, or None (an unknown one reads the folder again first)."""
        record = self._known(name_or_id)
        if record is None and self._root is not None:
            self._scan()
            record = self._known(name_or_id)
        return record

    def _known(self, name_or_id: str) -> VoiceRecord | None:
        with self._lock:
            if _ID_PATTERN.fullmatch(name_or_id or "") and name_or_id in self._records:
                return self._records[name_or_id]
            return next((r for r in self._records.values() if r.name == name_or_id), None)

    def record(self, name_or_id: str) -> VoiceRecord:
        """A stored voice by name or id; raise :class:`UnknownVoiceError` otherwise."""
        record = self.find(name_or_id)
        if record is None:
            raise UnknownVoiceError(f"unknown voice {name_or_id!r}")
        return record

    def by_id(self, voice_id: str) -> VoiceRecord | None:
        """A voice this process knows by id (no folder read: prompt clips ask this on every request)."""
        with self._lock:
            return self._records.get(voice_id)

    def check_new(self, name: str, clip: PromptClip, replace: bool) -> None:
        """Raise :class:`ConflictError` if storing ``clip`` as ``name`` clashes with another voice."""
        validate_voice_name(name)
        existing = self.find(name)
        if existing is not None and existing.voice_id != clip.content_id and not replace:
            raise ConflictError(f"a different voice is already stored as {name!r}; remove it first")
        known = self.by_id(clip.content_id)
        if known is not None and known.name != name:
            raise ConflictError(f"this clip is already stored as voice {known.name!r}")

    def add(
        self,
        name: str,
        clip: PromptClip,
        engine: str,
        features: Mapping[str, np.ndarray],
        replace: bool = False,
    ) -> VoiceRecord:
        """Store ``clip`` as ``name`` with one engine's features; the same clip and name is a no-op."""
        self.check_new(name, clip, replace)
        existing = self.find(name)
        if existing is not None and existing.voice_id != clip.content_id:
            self.remove(name)
        folder = self.root / clip.content_id
        with atomic_write(folder / "prompt.wav") as handle:
            sf.write(handle, clip.samples, clip.sample_rate, format="WAV", subtype="FLOAT")
        save_features(folder / f"{engine}.npz", features)
        meta = {
            "voice_id": clip.content_id,
            "name": name,
            "prompt_text": clip.prompt_text,
            "sample_rate": clip.sample_rate,
            "duration_s": round(clip.duration_s, 3),
            "created_at": time.time(),
        }
        with atomic_write(folder / "meta.json", "w") as text:
            text.write(json.dumps(meta, ensure_ascii=False, indent=1))
        return self._refresh(clip.content_id)

    def add_features(self, voice_id: str, engine: str, features: Mapping[str, np.ndarray]) -> VoiceRecord:
        """Store another engine's features of a stored voice."""
        save_features(self.root / voice_id / f"{engine}.npz", features)
        return self._refresh(voice_id)

    def _refresh(self, voice_id: str) -> VoiceRecord:
        record = self._read_record(self.root / voice_id)
        with self._lock:
            self._records[voice_id] = record
        return record

    def features(self, record: VoiceRecord, engine: str) -> dict[str, np.ndarray] | None:
        """One engine's features of a stored voice, or None when that engine has none yet."""
        path = self.root / record.voice_id / f"{engine}.npz"
        return load_features(path) if path.is_file() else None

    def clip(self, record: VoiceRecord) -> tuple[np.ndarray, int]:
        """The stored clip as decoded (to extract features for another engine)."""
        samples, sample_rate = sf.read(self.root / record.voice_id / "prompt.wav", dtype="float32")
        return np.ascontiguousarray(samples), int(sample_rate)

    def remove(self, name_or_id: str) -> VoiceRecord:
        """Delete a stored voice."""
        record = self.record(name_or_id)
        with self._lock:
            self._records.pop(record.voice_id, None)
        shutil.rmtree(self.root / record.voice_id, ignore_errors=True)
        return record
