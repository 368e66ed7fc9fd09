"""What kokoro renders, chunk by chunk, and when each segment of the original text is spoken.

:func:`plan_chunks` turns the frontend's segments into :class:`PhonemeChunk` objects (single-language
phoneme runs of one segment; the first sentence is a chunk of its own so streaming starts early), each
knowing the :class:`~glmtts.engines.captions.TextSpan` it speaks. :class:`CaptionTimer` counts the samples
the engine outputs (speech and the silences it inserts) and times each segment from the onset of its first
run's speech to the offset of its last run's speech: the quiet pad the engine keeps around each run and
the pause after a segment are not part of it, except that the last segment ends with the audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from glmtts.audio.chunk import CaptionSegment, CaptionWord
from glmtts.engines.captions import TextSpan
from glmtts.engines.kokoro.g2p import KokoroPhonemizer, split_first_sentence, split_phonemes
from glmtts.errors import NothingToSayError
from glmtts.text.config import FrontendResult


@dataclass(frozen=True)
class PhonemeChunk:
    """Phoneme runs rendered one after another, all from one frontend segment.

    ``ends_segment``: the segment's last chunk (a segment is two chunks when its first sentence was split
    off)."""

    runs: list[str]
    span: TextSpan
    ends_segment: bool = True


def plan_chunks(result: FrontendResult, phonemizer: KokoroPhonemizer) -> list[PhonemeChunk]:
    """The chunks of an analyzed text. Raises :class:`NothingToSayError` if nothing is speakable."""
    chunks: list[PhonemeChunk] = []
    for segment in result.segments:
        runs = [piece for run in phonemizer.segment_runs(segment) for piece in split_phonemes(run)]
        if runs:
            chunks.append(PhonemeChunk(runs, TextSpan.of(result.original, segment)))
    if not chunks:
        raise NothingToSayError("the text holds nothing speakable")
    head = chunks[0]
    first, *rest = split_first_sentence(head.runs[0])
    if rest:  # the first sentence is a chunk of its own: the stream starts after one sentence
        chunks[0:1] = [
            PhonemeChunk([first], head.span, ends_segment=False),
            PhonemeChunk(rest + head.runs[1:], head.span),
        ]
    return chunks


class CaptionTimer:
    """Counts one request's output samples and times its segments (see the module docstring)."""

    def __init__(self, sample_rate: int, threshold: float) -> None:
        self.sample_rate = sample_rate
        self.threshold = threshold
        self.position = 0
        self._segment_start: int | None = None

    def speak(
        self,
        span: TextSpan,
        audio: np.ndarray,
        ends_segment: bool,
        is_last: bool,
        words: tuple[CaptionWord, ...] = (),
    ) -> tuple[CaptionSegment, ...]:
        """Count one run's ``audio`` (speech of ``span``); the timed segment when this run ends it."""
        onset, offset = speech_edges(audio, self.threshold)
        if self._segment_start is None:
            self._segment_start = self.position + onset
        end = self.position + (audio.size if is_last else offset)
        self.position += audio.size
        if not ends_segment:
            return ()
        caption = span.timed(self._segment_start, max(end, self._segment_start), self.sample_rate, words)
        self._segment_start = None
        return (caption,)

    def skip(self, n_samples: int) -> None:
        """Count ``n_samples`` of inserted silence."""
        self.position += n_samples


def speech_edges(audio: np.ndarray, threshold: float) -> tuple[int, int]:
    """``(onset, offset)``: the first and one past the last sample louder than ``threshold``
    (``(0, len)`` when none is)."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return 0, int(audio.size)
    return int(loud[0]), int(loud[-1]) + 1
