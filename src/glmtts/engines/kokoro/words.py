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

    Each word first gets its phonemes' frames. Between two words (and before the first, after the
    last) the boundary is placed on the speech: where the quietest point of the frames between them
    (spaces, marks; the frame edge when there are none) is quiet, the quiet stretch around it bounded by
    the two words' frames is the pause — the word before ends where it starts and the word after starts
    where it ends; where speech runs on, both meet at that point."""
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
    edges = [(0, 0)] + [(start, end) for _, start, end in spans] + [(audio.size, audio.size)]
    cuts = [_pause(envelope, threshold, before, after) for before, after in itertools.pairwise(edges)]
    timed = []
    for index, (word, _, _) in enumerate(spans):
        start = cuts[index][1]
        timed.append((word, start, max(start, cuts[index + 1][0])))
    return timed


def _envelope(audio: np.ndarray, window: int) -> np.ndarray:
    from scipy.ndimage import maximum_filter1d

    return maximum_filter1d(np.abs(audio), size=window, mode="constant") if audio.size else audio


def _pause(
    envelope: np.ndarray, threshold: float, before: tuple[int, int], after: tuple[int, int]
) -> tuple[int, int]:
    """``(end of the word before, start of the word after)`` between words with frames ``before`` and
    ``after`` (sample ranges; see :func:`time_words`)."""
    low, high = before[1], after[0]
    anchor = high if high <= low else low + int(np.argmin(envelope[low:high]))
    if anchor < envelope.size and envelope[anchor] > threshold:  # past the audio's end is quiet
        return anchor, anchor
    loud_before = np.flatnonzero(envelope[before[0] : anchor] > threshold)
    loud_after = np.flatnonzero(envelope[anchor : after[1]] > threshold)
    pause_start = before[0] + int(loud_before[-1]) + 1 if loud_before.size else before[0]
    pause_end = anchor + int(loud_after[0]) if loud_after.size else after[1]
    return pause_start, pause_end
