"""Prompt clips: decoded once, checked against the configured limits once, hashed once.

A :class:`PromptClip` keeps the clip as decoded (``[n]`` or ``[n, channels]`` float32); its
``content_id`` (:func:`glmtts.audio.audio_content_hash` of clip and transcript) keys the voice cache, the
stored voices and the on-disk feature cache alike.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from glmtts.audio import audio_content_hash, read_audio_bytes, validate_prompt
from glmtts.audio.signal import MIN_PROMPT_S
from glmtts.errors import InvalidAudioError, InvalidOptionError, PayloadTooLargeError


@dataclass(frozen=True)
class PromptLimits:
    """Bounds on a prompt clip: its length in seconds and the size of the file it comes in."""

    min_s: float = MIN_PROMPT_S
    max_s: float = 30.0
    max_bytes: int = 20 * 1024 * 1024

    def __post_init__(self) -> None:
        if not 0 < self.min_s < self.max_s:
            raise InvalidOptionError(f"need 0 < min prompt seconds < max, got {self.min_s}, {self.max_s}")


@dataclass(frozen=True)
class PromptClip:
    """A decoded, validated prompt clip with its optional transcript and content id."""

    samples: np.ndarray = field(repr=False)
    sample_rate: int
    prompt_text: str | None = None
    content_id: str = ""

    @classmethod
    def of(
        cls, samples: np.ndarray, sample_rate: int, prompt_text: str | None, limits: PromptLimits
    ) -> PromptClip:
        """Validate decoded samples against ``limits`` and hash them (the one place both happen)."""
        clip = np.ascontiguousarray(samples, dtype=np.float32)
        validate_prompt(clip, sample_rate, min_s=limits.min_s, max_s=limits.max_s)
        text = (prompt_text or "").strip() or None
        return cls(clip, int(sample_rate), text, audio_content_hash(clip, sample_rate, text))

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate)


def decode_prompt(
    data: bytes, prompt_text: str | None, limits: PromptLimits, name: str = "prompt_audio"
) -> PromptClip:
    """Decode an uploaded clip (size and header length checked before decoding), validate and hash it."""
    if len(data) > limits.max_bytes:
        raise PayloadTooLargeError(f"{name} is {len(data)} bytes; at most {limits.max_bytes} are accepted")
    _check_header_duration(data, name, limits)
    samples, sample_rate = read_audio_bytes(data, name=name, mono=False)
    return PromptClip.of(samples, sample_rate, prompt_text, limits)


def read_prompt(
    path: str | Path, prompt_text: str | None, limits: PromptLimits, name: str | None = None
) -> PromptClip:
    """:func:`decode_prompt` of a file; errors name it as ``name`` (default: the path)."""
    file_path = Path(path)
    shown = name or str(file_path)
    try:
        data = file_path.read_bytes()
    except OSError:
        raise InvalidAudioError(f"audio file not found: {shown}") from None
    return decode_prompt(data, prompt_text, limits, shown)


def _check_header_duration(data: bytes, name: str, limits: PromptLimits) -> None:
    """Refuse over-long clips from their header, before decoding them into memory."""
    try:
        info = sf.info(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return  # not a libsndfile format: the decoder reports it (or ffmpeg handles it)
    duration_s = float(info.frames) / float(info.samplerate or 1)
    if duration_s > limits.max_s:
        raise InvalidAudioError(f"{name} is {duration_s:.1f} s long; at most {limits.max_s:g} s is accepted")
