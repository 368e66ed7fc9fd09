"""Word timing for kokoro: which phonemes each word is, and when the model speaks them.

A :class:`PhonemeRun` is one rendered phoneme string with its :class:`RunWord` spans (an English word,
or one hanzi of a Chinese word; punctuation is no word), each knowing the characters of the original
request text it was read from. After rendering, :func:`time_words` turns the model's per-token
durations (frames of :data:`~.durations.SAMPLES_PER_FRAME` samples, speed included) into sample ranges
of the run's output audio, then moves each boundary between words onto the speech: the duration
predictor gives a phoneme before a pause frames that are silence (the pause is *in* that phoneme) and
the next word's onset can fall in the frames of the space before it, so where the frames between two
words hold a pause, the words end and start at its edges in the waveform (a short-time envelope against
the threshold the engine trims runs with).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from glmtts.engines.kokoro.durations import SAMPLES_PER_FRAME


@dataclass(frozen=True)
class RunWord:
    """A word of a phoneme run: ``phonemes[start:end]`` speak ``original[char_start:char_end]``."""

    start: int
    end: int
    char_start: int
    char_end: int


@dataclass(frozen=True)
class PhonemeRun:
    """One phoneme string rendered in one model call, and its words in order."""

    phonemes: str
    words: tuple[RunWord, ...] = ()

    def split(self, pieces: list[str]) -> list[PhonemeRun]:
        """This run cut into ``pieces`` (consecutive substrings of :attr:`phonemes`, as the splitters
        return them); a word goes with the piece it starts in. A piece that is not a substring (a word
        cut in the middle) keeps no words."""
        runs: list[PhonemeRun] = []
        cursor = 0
        for piece in pieces:
            offset = self.phonemes.find(piece, cursor)
            if offset < 0:
                runs.append(PhonemeRun(piece))
                continue
            cursor = offset + len(piece)
            words = tuple(
                replace(word, start=word.start - offset, end=min(word.end, cursor) - offset)
                for word in self.words
                if offset <= word.start < cursor
            )
            runs.append(PhonemeRun(piece, words))
        return runs


def english_words(phonemes: str, spans: list[tuple[int, int, int]]) -> tuple[RunWord, ...]:
    """The words of an espeak-ng phoneme string read from English words ``spans`` (``(n_letters,
    char_start, char_end)`` each, in order). espeak separates words by spaces; when it did not keep one
    phoneme word per input word (it joins some function words), each input word gets the phoneme words
    around its share of the letters, and a word left with no phonemes joins the one before (the first:
    the one after)."""
    bounds = [0]
    for index, char in enumerate(phonemes):
        if char == " ":
            bounds.append(index)
    bounds.append(len(phonemes))
    n_words = len(bounds) - 1
    if n_words == len(spans):
        cuts = list(range(n_words + 1))
    else:
        letters = np.cumsum([0] + [n for n, _, _ in spans], dtype=np.float64)
        cuts = np.rint(letters / max(letters[-1], 1.0) * n_words).astype(int).tolist()
    words: list[RunWord] = []
    pending: int | None = None  # the start of leading input words left with no phonemes
    for (_, char_start, char_end), first, last in zip(spans, cuts, cuts[1:], strict=False):
        start, end = bounds[first] + (first > 0), bounds[last]
        if last > first:
            words.append(RunWord(start, end, char_start if pending is None else pending, char_end))
            pending = None
        elif words:
            words[-1] = replace(words[-1], char_end=max(words[-1].char_end, char_end))
        elif pending is None:
            pending = char_start
    return tuple(words)


def token_positions(phonemes: str, vocab: Mapping[str, int]) -> np.ndarray:
    """For each offset ``0..len(phonemes)`` of a phoneme string, the index of the model token at it
    (symbols outside the vocabulary are dropped when rendering)."""
    kept = [symbol in vocab for symbol in phonemes]
    return np.concatenate([[0], np.cumsum(kept, dtype=np.int64)])


#: Window of the short-time envelope (max of |x|) that tells speech from quiet.
ENVELOPE_S = 0.005


def time_words(
    words: tuple[RunWord, ...],
    positions: np.ndarray,
    durations: np.ndarray,
    trimmed_start: int,
    audio: np.ndarray,
    threshold: float,
    sample_rate: int,
) -> list[tuple[RunWord, int, int]]:
    """``(word, start, end)`` sample ranges of ``audio`` (a run's output: the model audio from sample
    ``trimmed_start`` on, possibly resynthesized with the same timing) for each word. ``positions``:
    :func:`token_positions` of the run; ``durations``: frames per model token (a boundary pad first).

    Each word first gets its phonemes' frames. Between two words the boundary is placed on the speech:
    where the quietest point between their frames (spaces, marks; the frame edge when there are none)
    is quiet, the quiet stretch around it is the pause — the word before ends where it starts and the
    word after starts where it ends; where speech runs on, both meet at the second word's first frame. The first word
    starts with the run's speech and the last ends with it, as a segment does."""
    frames = np.concatenate([[0], np.cumsum(durations.ravel(), dtype=np.int64)]) * SAMPLES_PER_FRAME
    spans = []
    for word in words:
        first, last = int(positions[word.start]) + 1, int(positions[word.end]) + 1  # +1: the pad
        start = int(np.clip(frames[first] - trimmed_start, 0, audio.size))
        end = int(np.clip(frames[last] - trimmed_start, start, audio.size))
        if last > first:
            spans.append((word, start, end))
    if not spans:
        return []
    envelope = _envelope(audio, max(1, int(ENVELOPE_S * sample_rate)))
    speech = _Speech(envelope, threshold)
    cuts = [(0, speech.first_at(0, audio.size))]  # the first word starts with the run's speech
    for (_, *before), (_, *after) in itertools.pairwise(spans):
        cuts.append(speech.pause(before[0], before[1], after[0], after[1]))
    final = speech.last_before(audio.size)
    cuts.append((audio.size if final is None else final + 1, audio.size))
    timed = []
    previous_end = 0
    for index, (word, _, _) in enumerate(spans):
        start = max(cuts[index][1], previous_end)
        end = min(max(cuts[index + 1][0], start + 1), audio.size)
        timed.append((word, min(start, end), end))
        previous_end = end
    return timed


def _envelope(audio: np.ndarray, window: int) -> np.ndarray:
    from scipy.ndimage import maximum_filter1d

    return maximum_filter1d(np.abs(audio), size=window, mode="constant") if audio.size else audio


class _Speech:
    """Where a run's envelope is above the threshold."""

    def __init__(self, envelope: np.ndarray, threshold: float) -> None:
        self.envelope = envelope
        self.threshold = threshold
        self.loud = np.flatnonzero(envelope > threshold)

    def first_at(self, position: int, default: int) -> int:
        """The first loud sample at or after ``position`` (``default`` when none)."""
        index = int(np.searchsorted(self.loud, position))
        return int(self.loud[index]) if index < self.loud.size else default

    def last_before(self, position: int) -> int | None:
        """The last loud sample before ``position``."""
        index = int(np.searchsorted(self.loud, position)) - 1
        return int(self.loud[index]) if index >= 0 else None

    def pause(self, a_start: int, a_end: int, b_start: int, b_end: int) -> tuple[int, int]:
        """``(end of word A, start of word B)`` for consecutive words with frames ``[a_start, a_end)``
        and ``[b_start, b_end)``: the quietest point between their frames — moved past A's first speech
        and before B's last, so each keeps some — and, when it is quiet, the quiet stretch around it; B's
        first frame when there is no quiet point."""
        a_speech = self.first_at(a_start, a_end)
        b_speech = self.last_before(b_end)
        low = max(a_end, a_speech + 1)
        high = min(b_start, b_end if b_speech is None else b_speech)
        edge = min(max(b_start, low), max(high, low))  # B's first frame, kept inside the bounds
        anchor = edge if high <= low else low + int(np.argmin(self.envelope[low:high]))
        if anchor >= self.envelope.size:
            return anchor, anchor
        if self.envelope[anchor] > self.threshold:  # no pause: the words meet at B's first frame
            return edge, edge
        before = self.last_before(anchor)
        return (anchor if before is None else before + 1), self.first_at(anchor, anchor)
