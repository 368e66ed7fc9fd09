"""What kokoro renders, chunk by chunk, and when each segment (and word) of the original text is spoken.

:func:`plan_chunks` turns the frontend's segments into :class:`PhonemeChunk` objects (single-language
phoneme runs of one segment; the first sentence is a chunk of its own so streaming starts early), each
knowing the :class:`~glmtts.engines.captions.TextSpan` it speaks and the words of each run.
:class:`CaptionTimer` counts the samples the engine outputs (speech and the silences it inserts) and times
each segment from the onset of its first run's speech to the offset of its last run's speech: the quiet
pad the engine keeps around each run and the pause after a segment are not part of it, except that the
last segment ends with the audio. Words (when asked) are timed inside their run by :mod:`.words` and
placed on the same timeline; the last word of the request ends with the audio too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glmtts.audio.chunk import CaptionSegment, CaptionWord
from glmtts.engines.captions import TextSpan
from glmtts.engines.kokoro.g2p import KokoroPhonemizer, split_first_sentence, split_phonemes
from glmtts.engines.kokoro.words import PhonemeRun, RunWord
from glmtts.errors import NothingToSayError
from glmtts.text.config import FrontendResult


@dataclass(frozen=True)
class PhonemeChunk:
    """Phoneme runs rendered one after another, all from one frontend segment.

    ``ends_segment``: the segment's last chunk (a segment is two chunks when its first sentence was split
    off)."""

    pieces: list[PhonemeRun]
    span: TextSpan
    ends_segment: bool = True

    @property
    def runs(self) -> list[str]:
        """The phoneme strings of the runs."""
        return [piece.phonemes for piece in self.pieces]


def plan_chunks(result: FrontendResult, phonemizer: KokoroPhonemizer) -> list[PhonemeChunk]:
    """The chunks of an analyzed text. Raises :class:`NothingToSayError` if nothing is speakable."""
    chunks: list[PhonemeChunk] = []
    for segment in result.segments:
        pieces = [
            piece
            for run in phonemizer.word_runs(segment)
            for piece in run.split(split_phonemes(run.phonemes))
        ]
        if pieces:
            chunks.append(PhonemeChunk(pieces, TextSpan.of(result.original, segment)))
    if not chunks:
        raise NothingToSayError("the text holds nothing speakable")
    head = chunks[0]
    first, *rest = head.pieces[0].split(split_first_sentence(head.pieces[0].phonemes))
    if rest:  # the first sentence is a chunk of its own: the stream starts after one sentence
        chunks[0:1] = [
            PhonemeChunk([first], head.span, ends_segment=False),
            PhonemeChunk(rest + head.pieces[1:], head.span),
        ]
    return chunks


@dataclass
class _TimedWord:
    char_start: int
    char_end: int
    start: int
    end: int


@dataclass
class CaptionTimer:
    """Counts one request's output samples and times its segments and words (see the module
    docstring). ``original``: the request text, which words show."""

    sample_rate: int
    threshold: float
    original: str = ""
    position: int = 0
    _segment_start: int | None = None
    _words: list[_TimedWord] = field(default_factory=list)

    def speak(
        self,
        span: TextSpan,
        audio: np.ndarray,
        ends_segment: bool,
        is_last: bool,
        words: list[tuple[RunWord, int, int]] | None = None,
    ) -> tuple[CaptionSegment, ...]:
        """Count one run's ``audio`` (speech of ``span``; ``words``: its words' sample ranges in
        ``audio``); the timed segment when this run ends it."""
        onset, offset = speech_edges(audio, self.threshold)
        if self._segment_start is None:
            self._segment_start = self.position + onset
        for word, start, end in words or ():
            self._add_word(word, self.position + start, self.position + end)
        end = self.position + (audio.size if is_last else offset)
        self.position += audio.size
        if not ends_segment:
            return ()
        start = self._segment_start
        end = max(end, start)
        if is_last and self._words:
            self._words[-1].end = end
        caption = span.timed(start, end, self.sample_rate, self._caption_words(start, end))
        self._segment_start = None
        self._words = []
        return (caption,)

    def skip(self, n_samples: int) -> None:
        """Count ``n_samples`` of inserted silence."""
        self.position += n_samples

    def _add_word(self, word: RunWord, start: int, end: int) -> None:
        """Record a word; one that shows no characters, or characters of the word before (several words
        read from one original word, "twenty twenty five" from "2025"), joins the word before."""
        last = self._words[-1] if self._words else None
        if last is not None and (word.char_start < last.char_end or word.char_end <= word.char_start):
            last.char_end, last.end = max(last.char_end, word.char_end), max(last.end, end)
        elif word.char_end > word.char_start:
            self._words.append(_TimedWord(word.char_start, word.char_end, start, end))

    def _caption_words(self, segment_start: int, segment_end: int) -> tuple[CaptionWord, ...]:
        out = []
        previous_end = segment_start
        for word in self._words:
            start = min(max(word.start, previous_end), segment_end)
            end = min(max(word.end, start), segment_end)
            text = self.original[word.char_start : word.char_end]
            rate = self.sample_rate
            out.append(CaptionWord(text, word.char_start, word.char_end, start / rate, end / rate))
            previous_end = end
        return tuple(out)


def speech_edges(audio: np.ndarray, threshold: float) -> tuple[int, int]:
    """``(onset, offset)``: the first and one past the last sample louder than ``threshold``
    (``(0, len)`` when none is)."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return 0, int(audio.size)
    return int(loud[0]), int(loud[-1]) + 1
