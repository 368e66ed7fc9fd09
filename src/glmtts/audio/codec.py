"""Encode audio to wav / flac / mp3 / opus / raw pcm, whole or as a stream of chunks."""

from __future__ import annotations

import enum
import io
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from glmtts.errors import UnsupportedFormatError


class AudioFormat(str, enum.Enum):
    WAV = "wav"
    FLAC = "flac"
    MP3 = "mp3"
    OPUS = "opus"
    PCM = "pcm"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]


_MEDIA_TYPES = {
    AudioFormat.WAV: "audio/wav",
    AudioFormat.FLAC: "audio/flac",
    AudioFormat.MP3: "audio/mpeg",
    AudioFormat.OPUS: "audio/ogg",
    AudioFormat.PCM: "audio/pcm",
}
_SOUNDFILE_ARGS = {
    AudioFormat.WAV: ("WAV", "PCM_16"),
    AudioFormat.FLAC: ("FLAC", "PCM_16"),
    AudioFormat.MP3: ("MP3", "MPEG_LAYER_III"),
    AudioFormat.OPUS: ("OGG", "OPUS"),
}
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def parse_format(name: str) -> AudioFormat:
    """Parse a format name (case-insensitive); raise :class:`UnsupportedFormatError` otherwise."""
    try:
        return AudioFormat(name.strip().lower())
    except ValueError:
        choices = ", ".join(f.value for f in AudioFormat)
        raise UnsupportedFormatError(f"unknown audio format {name!r}; choose one of {choices}") from None


def soundfile_container(audio_format: AudioFormat, sample_rate: int) -> tuple[str, str]:
    """libsndfile's (format, subtype) for a container format; refuses rates the codec cannot take."""
    if audio_format is AudioFormat.OPUS and sample_rate not in _OPUS_RATES:
        raise UnsupportedFormatError(f"opus needs one of the sample rates {_OPUS_RATES}, got {sample_rate}")
    return _SOUNDFILE_ARGS[audio_format]


def to_pcm16(samples: np.ndarray) -> bytes:
    """Little-endian signed 16-bit PCM bytes of float samples (clipped to [-1, 1])."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    return (clipped * 32767.0).round().astype("<i2").tobytes()


def encode_audio(samples: np.ndarray, sample_rate: int, fmt: AudioFormat | str = AudioFormat.WAV) -> bytes:
    """Encode mono float32 samples into a complete file of the given format."""
    audio_format = fmt if isinstance(fmt, AudioFormat) else parse_format(fmt)
    if audio_format is AudioFormat.PCM:
        return to_pcm16(samples)
    container, subtype = soundfile_container(audio_format, sample_rate)
    buffer = io.BytesIO()
    data = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    sf.write(buffer, data, sample_rate, format=container, subtype=subtype)
    return buffer.getvalue()


def write_audio(
    path: str | Path,
    samples: np.ndarray,
    sample_rate: int,
    fmt: AudioFormat | str | None = None,
    *,
    fsync: bool = True,
) -> Path:
    """Write a file atomically (temporary ``.<name>.*.part`` file + rename); the format defaults to the
    file suffix. ``fsync=False`` skips flushing the file to disk: readers and a killed process still
    never see half a file, only a power loss can lose it (batch jobs recover from that themselves)."""
    target = Path(path)
    audio_format = parse_format(
        fmt.value if isinstance(fmt, AudioFormat) else fmt or target.suffix.lstrip(".") or "wav"
    )
    payload = encode_audio(samples, sample_rate, audio_format)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def wav_stream_header(sample_rate: int, n_channels: int = 1, bits: int = 16) -> bytes:
    """A WAV header with unknown length (0xFFFFFFFF sizes), for streaming PCM after it."""
    byte_rate = sample_rate * n_channels * bits // 8
    block_align = n_channels * bits // 8
    unknown = 0xFFFFFFFF
    return (
        b"RIFF"
        + struct.pack("<I", unknown)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, n_channels, sample_rate, byte_rate, block_align, bits)
        + b"data"
        + struct.pack("<I", unknown)
    )
