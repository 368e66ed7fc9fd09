"""Read audio files or bytes (wav, flac, ogg, mp3 via libsndfile; m4a/aac/anything else via ffmpeg)."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from glmtts.audio.signal import resample, to_mono
from glmtts.errors import InvalidAudioError

_LOGGER = logging.getLogger(__name__)
_FFMPEG_TIMEOUT_S = 60.0
_FFMPEG_RATE = 48000


def read_audio(
    path: str | Path, target_sr: int | None = None, *, mono: bool = True
) -> tuple[np.ndarray, int]:
    """Read a file into float32 (mono unless ``mono=False``); resample mono audio to ``target_sr``.

    Raises :class:`InvalidAudioError` with the file name when it is missing or not audio.
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise InvalidAudioError(f"audio file not found: {file_path}")
    return read_audio_bytes(file_path.read_bytes(), target_sr=target_sr, name=str(file_path), mono=mono)


def read_audio_bytes(
    data: bytes, target_sr: int | None = None, name: str = "audio", *, mono: bool = True
) -> tuple[np.ndarray, int]:
    """Decode an in-memory file into float32: ``[n]`` mono, or with ``mono=False`` the file's channels
    (``[n]`` for one channel, ``[n, channels]`` otherwise; ``target_sr`` is then not allowed)."""
    if not data:
        raise InvalidAudioError(f"{name} is empty (0 bytes)")
    try:
        samples, sample_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        _LOGGER.debug("libsndfile could not read %s (%s); trying ffmpeg", name, exc)
        samples, sample_rate = _decode_with_ffmpeg(data, name)
    if not mono:
        if target_sr is not None:
            raise ValueError("target_sr needs mono=True")
        decoded = np.asarray(samples, dtype=np.float32)
        if decoded.ndim == 2 and decoded.shape[1] == 1:
            decoded = decoded[:, 0]
        if decoded.size == 0:
            raise InvalidAudioError(f"{name} holds no audio samples")
        return np.ascontiguousarray(decoded), int(sample_rate)
    mixed = to_mono(samples)
    if mixed.size == 0:
        raise InvalidAudioError(f"{name} holds no audio samples")
    if target_sr is not None and target_sr != sample_rate:
        mixed = resample(mixed, int(sample_rate), target_sr)
        sample_rate = target_sr
    return mixed, int(sample_rate)


def _decode_with_ffmpeg(data: bytes, name: str) -> tuple[np.ndarray, int]:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise InvalidAudioError(f"{name} is not a format libsndfile reads, and ffmpeg is not installed")
    command = [
        ffmpeg,
        "-v",
        "error",
        "-i",
        "pipe:0",
        "-f",
        "f32le",
        "-ac",
        "1",
        "-ar",
        str(_FFMPEG_RATE),
        "pipe:1",
    ]
    try:
        result = subprocess.run(
            command, input=data, capture_output=True, timeout=_FFMPEG_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise InvalidAudioError(f"decoding {name} took longer than {_FFMPEG_TIMEOUT_S:g} s") from exc
    if result.returncode != 0 or not result.stdout:
        reason = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no audio stream"]
        raise InvalidAudioError(f"{name} is not a readable audio file ({reason[0]})")
    return np.frombuffer(result.stdout, dtype="<f4").copy(), _FFMPEG_RATE
