"""The output formats glmtts writes, with their media types."""

from __future__ import annotations

import enum

from glmtts.errors import UnsupportedFormatError


class AudioFormat(str, enum.Enum):
    """An output format; each has exactly one encoder in :mod:`glmtts.audio.encoders`.

    ``srt`` and ``vtt`` are caption formats: their encoders read the caption timing the chunks carry
    (:class:`~glmtts.audio.chunk.CaptionSegment`) instead of the samples.
    """

    WAV = "wav"
    FLAC = "flac"
    MP3 = "mp3"
    OPUS = "opus"
    AAC = "aac"
    PCM = "pcm"
    SRT = "srt"
    VTT = "vtt"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]

    @property
    def is_captions(self) -> bool:
        """True for the caption formats (srt, vtt)."""
        return self in _CAPTION_FORMATS

    @classmethod
    def audio_formats(cls) -> tuple[AudioFormat, ...]:
        """The formats that carry audio (every one but the caption formats)."""
        return tuple(f for f in cls if f not in _CAPTION_FORMATS)


_MEDIA_TYPES = {
    AudioFormat.WAV: "audio/wav",
    AudioFormat.FLAC: "audio/flac",
    AudioFormat.MP3: "audio/mpeg",
    AudioFormat.OPUS: "audio/ogg",
    AudioFormat.AAC: "audio/aac",
    AudioFormat.PCM: "audio/pcm",
    AudioFormat.SRT: "application/x-subrip",
    AudioFormat.VTT: "text/vtt",
}
_CAPTION_FORMATS = frozenset({AudioFormat.SRT, AudioFormat.VTT})


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
