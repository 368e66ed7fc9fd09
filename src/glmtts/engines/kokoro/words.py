"""Word timing for kokoro: which phonemes each word is, and when the model speaks them.

A :class:`PhonemeRun` is one rendered phoneme string with its :class:`RunWord` spans (an English word,
or one hanzi of a Chinese word; punctuation is no word), each knowing the characters of the original
request text it was read from. After rendering, :func:`time_words` turns the model's per-token
durations (frames of :data:`~.durations.SAMPLES_PER_FRAME` samples, speed included) into sample ranges
of the run's output audio, then bounds each word to the speech inside its frames: the duration
predictor gives a phoneme before a pause frames that are silence (the pause is *in* that phoneme), so a
word starts at its first loud sample at or after its first frame and ends after its last loud sample
at or before its last frame, "loud" meaning above the threshold the engine trims runs with.
"""

from __future__ import annotations

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
    around its share of the letters, and a word left with no phonemes joins the one before."""
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
    for (_, char_start, char_end), first, last in zip(spans, cuts, cuts[1:], strict=False):
        start, end = bounds[first] + (first > 0), bounds[last]
        if last > first:
            words.append(RunWord(start, end, char_start, char_end))
        elif words:
            words[-1] = replace(words[-1], char_end=max(words[-1].char_end, char_end))
    return tuple(words)


def token_positions(phonemes: str, vocab: Mapping[str, int]) -> np.ndarray:
    """For each offset ``0..len(phonemes)`` of a phoneme string, the index of the model token at it
    (symbols outside the vocabulary are dropped when rendering)."""
    kept = [symbol in vocab for symbol in phonemes]
    return np.concatenate([[0], np.cumsum(kept, dtype=np.int64)])


def time_words(
    words: tuple[RunWord, ...],
    positions: np.ndarray,
    durations: np.ndarray,
    trimmed_start: int,
    audio: np.ndarray,
    threshold: float,
) -> list[tuple[RunWord, int, int]]:
    """``(word, start, end)`` sample ranges of ``audio`` (a run's output: the model audio from sample
    ``trimmed_start`` on, possibly resynthesized with the same timing) for each word. ``positions``:
    :func:`token_positions` of the run; ``durations``: frames per model token (a boundary pad first)."""
    frames = np.concatenate([[0], np.cumsum(durations.ravel(), dtype=np.int64)])
    loud = np.abs(audio) > threshold
    timed: list[tuple[RunWord, int, int]] = []
    for word in words:
        first, last = int(positions[word.start]) + 1, int(positions[word.end]) + 1  # +1: the pad
        if last <= first:
            continue
        start = int(np.clip(frames[first] * SAMPLES_PER_FRAME - trimmed_start, 0, audio.size))
        end = int(np.clip(frames[last] * SAMPLES_PER_FRAME - trimmed_start, start, audio.size))
        speech = np.flatnonzero(loud[start:end])
        if speech.size:
            start, end = start + int(speech[0]), start + int(speech[-1]) + 1
        timed.append((word, start, end))
    return timed
