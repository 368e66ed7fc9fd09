"""The output formats glmtts writes, with their media types."""

from __future__ import annotations

import enum

from glmtts.errors import UnsupportedFormatError


class AudioFormat(str, enum.Enum):
    """An output format; each has exactly one encoder in :mod:`glmtts.audio.encode`."""

    WAV = "wav"
    FLAC = "flac"
    MP3 = "mp3"
    OPUS = "opus"
    AAC = "aac"
    PCM = "pcm"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]


_MEDIA_TYPES = {
    AudioFormat.WAV: "audio/wav",
    AudioFormat.FLAC: "audio/flac",
    AudioFormat.MP3: "audio/mpeg",
    AudioFormat.OPUS: "audio/ogg",
    AudioFormat.AAC: "audio/aac",
    AudioFormat.PCM: "audio/pcm",
}


def parse_format(name: object) -> AudioFormat:
    """Parse a format name (case-insensitive); raise :class:`UnsupportedFormatError` otherwise."""
    if isinstance(name, AudioFormat):
        return name
    choices = ", ".join(f.value for f in AudioFormat)
    if not isinstance(name, str):
        raise UnsupportedFormatError(f"the audio format must be a string; choose one of {choices}")
    try:
        return AudioFormat(name.strip().lower())
    except ValueError:
        raise UnsupportedFormatError(f"unknown audio format {name[:40]!r}; choose one of {choices}") from None
