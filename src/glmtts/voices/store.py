"""The voices library: content-hashed prompt clips with precomputed, persisted engine features.

Layout under ``root`` (the server uses ``<workdir>/voices``)::

    <voice_id>/meta.json          name, transcript, sample rate, duration, creation time
    <voice_id>/prompt.wav         the clip as given (float32 WAV, so features can be rebuilt exactly)
    <voice_id>/<engine>.npz       the engine's features (``numpy.savez``; loaded with allow_pickle=False)

``voice_id`` is :func:`glmtts.audio.audio_content_hash` of the clip and transcript, so adding the same clip
twice is free. Features come from a ``prepare`` callable (``engine.prepare_voice`` offline, a task on the
model thread in the server); the store never touches an engine itself. Loaded voices stay in an LRU, and
uploaded prompts that are not stored get their own LRU so a repeated prompt is not re-extracted.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from glmtts.audio import audio_content_hash
from glmtts.engines.base import Voice
from glmtts.errors import ConflictError, InvalidOptionError, UnknownVoiceError
from glmtts.voices.lru import LruCache

_LOGGER = logging.getLogger(__name__)

#: (samples, sample_rate, prompt_text) -> Voice
PrepareVoice = Callable[[np.ndarray, int, "str | None"], Voice]

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
    """Stored voices for one engine, persisted under ``root``, cached in memory."""

    def __init__(self, root: Path, engine_name: str, cache_size: int = 64) -> None:
        self.root = Path(root)
        self.engine_name = engine_name
        self._records: dict[str, VoiceRecord] = {}
        self._lock = threading.Lock()
        self._stored = LruCache[str, Voice](cache_size)
        self._prompts = LruCache[str, Voice](cache_size)
        self._scan()

    # ------------------------------------------------------------------ library
    def _scan(self) -> None:
        if not self.root.is_dir():
            return
        for meta_path in sorted(self.root.glob("*/meta.json")):
            try:
                record = self._read_record(meta_path.parent)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                _LOGGER.warning("skipping unreadable voice %s: %s", meta_path.parent, exc)
                continue
            self._records[record.voice_id] = record

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
        """Every stored voice, by name."""
        with self._lock:
            return sorted(self._records.values(), key=lambda r: r.name)

    def record(self, name_or_id: str) -> VoiceRecord:
        """Find a stored voice by name or id; raise :class:`UnknownVoiceError` otherwise."""
        with self._lock:
            if _ID_PATTERN.fullmatch(name_or_id or "") and name_or_id in self._records:
                return self._records[name_or_id]
            for record in self._records.values():
                if record.name == name_or_id:
                    return record
        raise UnknownVoiceError(f"unknown voice {name_or_id!r}")

    def __contains__(self, name_or_id: str) -> bool:
        try:
            self.record(name_or_id)
        except UnknownVoiceError:
            return False
        return True

    def add(
        self,
        name: str,
        samples: np.ndarray,
        sample_rate: int,
        prompt_text: str | None,
        prepare: PrepareVoice,
        replace: bool = False,
    ) -> VoiceRecord:
        """Store a clip under ``name`` with features from ``prepare``; same clip and name is a no-op."""
        validate_voice_name(name)
        prompt_text = (prompt_text or "").strip() or None
        voice_id = audio_content_hash(samples, sample_rate, prompt_text)
        existing = self._by_name(name)
        if existing is not None and existing.voice_id != voice_id:
            if not replace:
                raise ConflictError(f"a different voice is already stored as {name!r}; remove it first")
            self.remove(name)
        known = self._records.get(voice_id)
        if known is not None and known.name != name:
            raise ConflictError(f"this clip is already stored as voice {known.name!r}")
        voice = self._prompts.get(voice_id) or prepare(samples, sample_rate, prompt_text)
        record = self._write(name, voice_id, samples, sample_rate, prompt_text, voice.features)
        self._stored.put(voice_id, _as_voice(voice_id, self.engine_name, prompt_text, voice.features))
        return record

    def _by_name(self, name: str) -> VoiceRecord | None:
        with self._lock:
            return next((r for r in self._records.values() if r.name == name), None)

    def _write(
        self,
        name: str,
        voice_id: str,
        samples: np.ndarray,
        sample_rate: int,
        prompt_text: str | None,
        features: Mapping[str, np.ndarray],
    ) -> VoiceRecord:
        self.root.mkdir(parents=True, exist_ok=True)
        folder = self.root / voice_id
        staging = Path(tempfile.mkdtemp(prefix=f".{voice_id}.", dir=self.root))
        try:
            if folder.is_dir():
                for path in folder.iterdir():
                    shutil.copy2(path, staging / path.name)
            else:
                sf.write(
                    staging / "prompt.wav",
                    np.asarray(samples, dtype=np.float32),
                    sample_rate,
                    subtype="FLOAT",
                )
            arrays: dict[str, Any] = {key: np.asarray(value) for key, value in features.items()}
            np.savez(staging / f"{self.engine_name}.npz", **arrays)
            meta = {
                "voice_id": voice_id,
                "name": name,
                "prompt_text": prompt_text,
                "sample_rate": int(sample_rate),
                "duration_s": round(len(samples) / float(sample_rate), 3),
                "created_at": time.time(),
            }
            (staging / "meta.json").write_text(
                json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8"
            )
            if folder.is_dir():
                shutil.rmtree(folder)
            staging.rename(folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        record = self._read_record(folder)
        with self._lock:
            self._records[voice_id] = record
        return record

    def remove(self, name_or_id: str) -> VoiceRecord:
        """Delete a stored voice (files and cache entries)."""
        record = self.record(name_or_id)
        with self._lock:
            self._records.pop(record.voice_id, None)
        self._stored.pop(record.voice_id)
        shutil.rmtree(self.root / record.voice_id, ignore_errors=True)
        return record

    # ------------------------------------------------------------------ features
    def get(self, name_or_id: str) -> Voice:
        """The engine voice of a stored voice (from the LRU, else from disk)."""
        record = self.record(name_or_id)
        voice = self._stored.get(record.voice_id)
        if voice is not None:
            return voice
        path = self.root / record.voice_id / f"{self.engine_name}.npz"
        if not path.is_file():
            raise UnknownVoiceError(
                f"voice {record.name!r} has no features for engine {self.engine_name!r}; restart the server "
                "or run `glmtts voices add` again with this engine"
            )
        with np.load(path, allow_pickle=False) as archive:
            features = {key: archive[key] for key in archive.files}
        voice = _as_voice(record.voice_id, self.engine_name, record.prompt_text, features)
        self._stored.put(record.voice_id, voice)
        return voice

    def prepare_missing(self, prepare: PrepareVoice) -> int:
        """Compute features for this engine where only other engines' exist; return how many were made."""
        n_made = 0
        for record in self.list():
            if self.engine_name in record.engines:
                continue
            samples, sample_rate = sf.read(self.root / record.voice_id / "prompt.wav", dtype="float32")
            voice = prepare(samples, int(sample_rate), record.prompt_text)
            self._write(
                record.name, record.voice_id, samples, int(sample_rate), record.prompt_text, voice.features
            )
            n_made += 1
        return n_made

    def load_all(self, prepare: PrepareVoice | None = None) -> int:
        """Make every stored voice usable now (run before the server says ready); return the count."""
        if prepare is not None:
            self.prepare_missing(prepare)
        n_loaded = 0
        for record in self.list()[: self._stored.capacity]:
            try:
                self.get(record.voice_id)
                n_loaded += 1
            except UnknownVoiceError as exc:
                _LOGGER.warning("%s", exc)
        return n_loaded

    def prompt_voice(
        self, samples: np.ndarray, sample_rate: int, prompt_text: str | None, prepare: PrepareVoice
    ) -> tuple[Voice, bool]:
        """Features of an uploaded (unstored) prompt, from the LRU when seen before; returns (voice, cached)."""
        prompt_text = (prompt_text or "").strip() or None
        voice_id = audio_content_hash(samples, sample_rate, prompt_text)
        cached = self._stored.get(voice_id) or self._prompts.get(voice_id)
        if cached is not None:
            return cached, True
        voice = prepare(samples, sample_rate, prompt_text)
        voice = _as_voice(voice_id, self.engine_name, prompt_text, voice.features)
        self._prompts.put(voice_id, voice)
        return voice, False

    def clear_cache(self) -> int:
        """Forget cached features (stored voices reload from disk on use); return entries dropped."""
        return self._stored.clear() + self._prompts.clear()

    def cache_stats(self) -> dict[str, int]:
        return {
            "stored_cached": len(self._stored),
            "prompts_cached": len(self._prompts),
            "hits": self._stored.hits + self._prompts.hits,
            "misses": self._stored.misses + self._prompts.misses,
        }


def _as_voice(
    voice_id: str, engine: str, prompt_text: str | None, features: Mapping[str, np.ndarray]
) -> Voice:
    return Voice(voice_id=voice_id, engine=engine, prompt_text=prompt_text, features=dict(features))
