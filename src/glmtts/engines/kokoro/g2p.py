"""Frontend segments → Kokoro phoneme strings → token ids.

The shared frontend (:mod:`glmtts.text`) has already normalized the text, split it into segments and
given every Chinese word its numbered pinyin (with dictionary overrides applied). Here Chinese words
become Kokoro's Mandarin IPA (:mod:`.pinyin`), runs of English words go through espeak-ng
(:mod:`.espeak`), and punctuation becomes the few marks Kokoro knows, which also shape its prosody.
Words are separated by spaces, as in the transcriptions Kokoro v1.0 was trained on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import replace

from glmtts.engines.kokoro.espeak import EspeakPhonemizer
from glmtts.engines.kokoro.pinyin import pinyin_to_ipa
from glmtts.engines.kokoro.words import PhonemeRun, RunWord, english_words
from glmtts.errors import UnknownPhonemeError
from glmtts.text.config import G2PToken, Segment, TokenKind

_LOGGER = logging.getLogger(__name__)

#: Kokoro's context holds 512 tokens including the two boundary pads.
MAX_PHONEME_TOKENS = 510

_PUNCTUATION: dict[str, str] = {
    "，": ",", ",": ",", "、": ",", "；": ";", ";": ";", "：": ":", ":": ":",
    "。": ".", ".": ".", "．": ".", "！": "!", "!": "!", "？": "?", "?": "?",
    "…": "…", "—": "—", "–": "—", "-": "—", "~": "…", "～": "…",
}  # fmt: skip
_CLAUSE_BREAK = re.compile(r"(?<=[,.!?;:…—])\s+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+")


class KokoroPhonemizer:
    """Turns frontend :class:`~glmtts.text.config.Segment` objects into Kokoro phoneme strings."""

    def __init__(self, vocab: Mapping[str, int], espeak: EspeakPhonemizer) -> None:
        self.vocab = vocab
        self.espeak = espeak

    def segment_phonemes(self, segment: Segment) -> str:
        """Phoneme string of one segment ("" when nothing in it is speakable)."""
        return " ".join(self.segment_runs(segment))

    def segment_runs(self, segment: Segment) -> list[str]:
        """Phoneme strings of the segment's single-language runs, in order (see :meth:`word_runs`)."""
        return [run.phonemes for run in self.word_runs(segment)]

    def word_runs(self, segment: Segment) -> list[PhonemeRun]:
        """The segment's single-language runs, in order, with the words each speaks.

        A segment mixing Chinese and English is rendered run by run: measured with Whisper, an English
        word inside a Mandarin utterance was not recognisable ("Python" heard as 白分), while the same
        word rendered on its own was. Punctuation stays with the run before it.
        """
        runs: list[list[_Piece]] = [[]]
        english: list[G2PToken] = []
        language = ""
        for token in segment.tokens:
            kind = token.kind
            if kind in (TokenKind.ZH, TokenKind.EN) and language and kind != language:
                self._flush_english(english, runs[-1])
                runs.append([])
            if kind in (TokenKind.ZH, TokenKind.EN):
                language = kind
            if kind == TokenKind.EN:
                english.append(token)
            elif not (kind == TokenKind.SPACE and english):
                self._flush_english(english, runs[-1])
                self._append_token(token, runs[-1])
        self._flush_english(english, runs[-1])
        return [run for run in (_join_words(pieces) for pieces in runs) if has_speech(run.phonemes)]

    def _flush_english(self, english: list[G2PToken], pieces: list[_Piece]) -> None:
        if english:
            phonemes = self.espeak.phonemize(" ".join(token.text for token in english))
            if phonemes:
                spans = [(len(token.text), token.char_start, token.char_end) for token in english]
                pieces.append((phonemes, english_words(phonemes, spans)))
            english.clear()

    def _append_token(self, token: G2PToken, pieces: list[_Piece]) -> None:
        if token.kind == TokenKind.ZH:
            try:
                syllables = [pinyin_to_ipa(syllable) for syllable in token.pinyin]
            except UnknownPhonemeError:
                _LOGGER.warning("skipping %r: unreadable pinyin %s", token.text, token.pinyin)
                return
            pieces.append(("".join(syllables), _hanzi_words(token, syllables)))
        elif token.kind == TokenKind.PUNCT:
            mark = "".join(_PUNCTUATION.get(char, "") for char in token.text.strip())[:1]
            if mark:
                pieces.append((mark, ()))

    def token_ids(self, phonemes: str) -> list[int]:
        """Token ids of a phoneme string; symbols outside Kokoro's vocabulary are dropped."""
        ids = [self.vocab[symbol] for symbol in phonemes if symbol in self.vocab]
        if len(ids) != len(phonemes):
            unknown = sorted({symbol for symbol in phonemes if symbol not in self.vocab})
            _LOGGER.debug("dropped symbols outside the Kokoro vocabulary: %s", unknown)
        return ids


#: A run's piece: phonemes of one Chinese word, one English stretch or a mark, and its words.
_Piece = tuple[str, tuple[RunWord, ...]]


def _hanzi_words(token: G2PToken, syllables: list[str]) -> tuple[RunWord, ...]:
    """One word per hanzi of a Chinese word when each was read from one character of the original (so
    "今天" gives two), else one word for the whole token ("二零二五" read from "2025")."""
    n_chars = token.char_end - token.char_start
    if len(syllables) != len(token.text) or n_chars != len(syllables):
        return (RunWord(0, sum(len(s) for s in syllables), token.char_start, token.char_end),)
    words, offset = [], 0
    for index, syllable in enumerate(syllables):
        start = token.char_start + index
        words.append(RunWord(offset, offset + len(syllable), start, start + 1))
        offset += len(syllable)
    return tuple(words)


def _join_words(pieces: list[_Piece]) -> PhonemeRun:
    """Join pieces with spaces, attaching punctuation to the piece before it (a leading mark is
    dropped), and shift their words to offsets of the joined string."""
    out = ""
    words: list[RunWord] = []
    for phonemes, piece_words in pieces:
        if phonemes in _PUNCTUATION.values():
            if out and out[-1] not in ",.!?;:…—":
                out = out.rstrip() + phonemes + " "
            continue
        words.extend(replace(w, start=w.start + len(out), end=w.end + len(out)) for w in piece_words)
        out += phonemes + " "
    return PhonemeRun(out.strip(), tuple(words))


def has_speech(phonemes: str) -> bool:
    """True when a phoneme string holds something besides punctuation and spaces."""
    return any(symbol not in ",.!?;:…— " for symbol in phonemes)


def split_first_sentence(phonemes: str) -> list[str]:
    """``[first sentence, rest]`` of a phoneme string, or ``[phonemes]`` when it holds one sentence.

    Streaming renders the first sentence on its own, so the first audio leaves after one sentence's
    worth of inference instead of a whole 30–60-unit segment's.
    """
    pieces = _SENTENCE_BREAK.split(phonemes, maxsplit=1)
    return [piece for piece in pieces if piece]


def split_phonemes(phonemes: str, max_tokens: int = MAX_PHONEME_TOKENS) -> list[str]:
    """Split a phoneme string into pieces of at most ``max_tokens`` symbols, at clause breaks first,
    then at word boundaries, and as a last resort inside a word."""
    if len(phonemes) <= max_tokens:
        return [phonemes]
    pieces: list[str] = []
    current = ""
    for unit in _units(phonemes, max_tokens):
        candidate = f"{current} {unit}".strip()
        if len(candidate) > max_tokens and current:
            pieces.append(current)
            current = unit
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def _units(phonemes: str, max_tokens: int) -> list[str]:
    units: list[str] = []
    for clause in _CLAUSE_BREAK.split(phonemes):
        if len(clause) <= max_tokens:
            units.append(clause)
            continue
        for word in clause.split(" "):
            units.extend(word[i : i + max_tokens] for i in range(0, len(word), max_tokens))
    return units
