"""Caption timing shared by the engines: which original text a segment shows, and when it is spoken.

An engine takes each frontend segment's :class:`TextSpan` (its characters of the original request text),
counts the samples it outputs, and attaches the timed :class:`~glmtts.audio.chunk.CaptionSegment` to the
chunk where the segment's audio ends (the contract in :mod:`glmtts.audio.chunk`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from glmtts.audio.chunk import CaptionSegment, CaptionWord

if TYPE_CHECKING:
    from glmtts.text.config import Segment


@dataclass(frozen=True)
class TextSpan:
    """The characters ``original[char_start:char_end]`` of the request text that one segment speaks."""

    text: str
    char_start: int
    char_end: int

    @classmethod
    def of(cls, original: str, segment: Segment) -> TextSpan:
        """The span a frontend segment came from."""
        return cls(original[segment.char_start : segment.char_end], segment.char_start, segment.char_end)

    def timed(
        self,
        start_sample: int,
        end_sample: int,
        sample_rate: int,
        words: tuple[CaptionWord, ...] = (),
    ) -> CaptionSegment:
        """This span spoken from ``start_sample`` to ``end_sample`` of the request's output."""
        return CaptionSegment(
            self.text,
            self.char_start,
            self.char_end,
            start_sample / sample_rate,
            end_sample / sample_rate,
            words,
        )
