"""The unit audio travels in, from the engine to the encoders: :class:`AudioChunk`, and the caption
timing a chunk can carry (:class:`CaptionSegment`, :class:`CaptionWord`).

Timing contract (issue "Captions"): a :class:`CaptionSegment` is attached to the chunk in which that text
segment's audio **ends** (for a one-chunk segment, that chunk). Its ``start_s`` / ``end_s`` are seconds
in the request's whole output timeline (after speed, segment joins and any trimming), so the last
segment's ``end_s`` equals the audio duration. ``char_start`` / ``char_end`` are offsets into the
**original** request text (Python ``str`` indices, end exclusive), so a caption shows what the user wrote
("2025年"), not the normalized reading. ``words`` holds word timings (characters for Chinese) where the
engine knows them, each inside its segment and in order; empty where it does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CaptionWord:
    """One word (one character for Chinese) of the original text and when it is spoken."""

    text: str
    char_start: int
    char_end: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class CaptionSegment:
    """One text segment (sentence or clause) of the original text and when it is spoken."""

    text: str
    char_start: int
    char_end: int
    start_s: float
    end_s: float
    words: tuple[CaptionWord, ...] = ()


@dataclass(frozen=True)
class AudioChunk:
    """One piece of synthesized audio, mono float32 in [-1, 1].

    ``segment_index`` counts the text segments of one request; ``is_last`` marks the final chunk;
    ``captions`` holds the segments that end in this chunk (see the module docstring). Encoders take whole
    chunks rather than bare samples, so caption formats read the same stream.
    """

    samples: np.ndarray
    sample_rate: int
    segment_index: int = 0
    is_last: bool = False
    captions: tuple[CaptionSegment, ...] = ()

    @property
    def duration_s(self) -> float:
        return float(len(self.samples)) / float(self.sample_rate)
