"""Helpers that check responses as audio: decode, duration, level, dominant frequency."""

from __future__ import annotations

import io
import subprocess

import numpy as np
import soundfile as sf


def decode(data: bytes, sample_rate: int = 24000) -> tuple[np.ndarray, int]:
    """Decode with libsndfile, or with ffmpeg for what it does not read (AAC), at ``sample_rate``."""
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=False)
    except sf.LibsndfileError:
        return decode_with_ffmpeg(data, sample_rate), sample_rate
    return np.asarray(samples, dtype=np.float32), int(rate)


def decode_streamed_wav(data: bytes) -> np.ndarray:
    """A streamed WAV has unknown-length sizes in its header; the PCM follows the 44-byte header."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and data[36:40] == b"data"
    return np.frombuffer(data[44:], dtype="<i2").astype(np.float32) / 32767.0


def decode_with_ffmpeg(data: bytes, sample_rate: int = 24000) -> np.ndarray:
    """Decode any container with ffmpeg (which, unlike libsndfile, reads FLAC streams of unknown length);
    fails on any decoder error message."""
    result = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            "pipe:0",
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(sample_rate),
            "pipe:1",
        ],
        input=data,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    return np.frombuffer(result.stdout, "<i2").astype(np.float32) / 32767.0


def dominant_hz(samples: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum[1:]) + 1) * sample_rate / samples.size


def level_dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(samples.astype(np.float64)))) + 1e-12))
