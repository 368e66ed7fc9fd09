"""Turning one normalized segment into tokens, pinyin and upstream hybrid phoneme text."""

from __future__ import annotations

import re
from collections.abc import Iterator

from glmtts.errors import UnknownPhonemeError
from glmtts.text.config import G2PToken, Segment, TokenKind
from glmtts.text.dictionary import PronunciationDictionary
from glmtts.text.g2p import PHONEME_CHARACTERS, MandarinG2P
from glmtts.text.normalize import CJK_PATTERN, lower_ascii
from glmtts.text.phonemes import format_tokens, pinyin_to_tokens, read_hybrid

_LATIN_WORD = re.compile(r"[A-Za-z0-9'\u00c0-\u024f]+")
_PUNCTUATION = frozenset("，。？！?!,.;；:：、…-")
_CONTEXT_CHARS = 4


class SegmentAnalyzer:
    """Reads a segment with a pronunciation dictionary (longest key first) and Mandarin G2P."""

    def __init__(self, g2p: MandarinG2P) -> None:
        self._g2p = g2p

    def analyze(self, cased: str, dictionary: PronunciationDictionary, phoneme: bool) -> Segment:
        """Analyze ``cased`` (normalized text that keeps letter case, no protection marks)."""
        lowered = lower_ascii(cased)
        tokens: list[G2PToken] = []
        phoneme_parts: list[str] = []
        for start, end, replacement in self._spans(lowered, dictionary):
            chunk_cased, chunk = cased[start:end], lowered[start:end]
            if replacement is not None:
                tokens.extend(self._override_tokens(chunk_cased, replacement))
                phoneme_parts.append(replacement)
            elif CJK_PATTERN.match(chunk):
                new_tokens = self._chinese_tokens(
                    chunk,
                    lowered[max(0, start - _CONTEXT_CHARS) : start],
                    lowered[end : end + _CONTEXT_CHARS],
                )
                tokens.extend(new_tokens)
                phoneme_parts.extend(_hybrid(token) for token in new_tokens)
            else:
                tokens.append(G2PToken(chunk_cased, _kind_of(chunk)))
                phoneme_parts.append(chunk)
        pinyin = " ".join(s for token in tokens if token.kind is TokenKind.ZH for s in token.pinyin)
        return Segment(
            text=lowered,
            tokens=tuple(tokens),
            pinyin=pinyin,
            phonemes="".join(phoneme_parts) if phoneme else None,
        )

    def _spans(self, text: str, dictionary: PronunciationDictionary) -> Iterator[tuple[int, int, str | None]]:
        """Yield (start, end, replacement or None): dictionary matches, CJK runs, Latin words, single chars."""
        position = 0
        run_start: int | None = None
        while position < len(text):
            match = dictionary.longest_match(text, position) if len(dictionary) else None
            if match is not None:
                if run_start is not None:
                    yield run_start, position, None
                    run_start = None
                yield position, position + len(match[0]), match[1]
                position += len(match[0])
                continue
            if CJK_PATTERN.match(text, position):
                run_start = position if run_start is None else run_start
                position += 1
                continue
            if run_start is not None:
                yield run_start, position, None
                run_start = None
            word = _LATIN_WORD.match(text, position)
            end = word.end() if word else position + 1
            yield position, end, None
            position = end
        if run_start is not None:
            yield run_start, len(text), None

    def _chinese_tokens(self, run: str, before: str, after: str) -> list[G2PToken]:
        syllables = self._g2p.read(run, before, after)
        tokens: list[G2PToken] = []
        position = 0
        for word in self._g2p.words(run):
            tokens.append(G2PToken(word, TokenKind.ZH, syllables[position : position + len(word)]))
            position += len(word)
        return tokens

    def _override_tokens(self, source: str, replacement: str) -> list[G2PToken]:
        """A Chinese override is one token with the replacement's pinyin; any other override becomes the
        tokens of its replacement text (``{"api": "a p i"}`` gives three English tokens)."""
        syllables: list[str] = []
        plain: list[str] = []
        for text, pinyin in [*read_hybrid(replacement), ("", None)]:
            if pinyin is None and CJK_PATTERN.match(text):
                plain.append(text)
                continue
            if plain:
                syllables.extend(self._g2p.read("".join(plain)))
                plain = []
            if pinyin is not None:
                syllables.append(pinyin)
        if syllables or CJK_PATTERN.search(source):
            return [G2PToken(source, TokenKind.ZH, tuple(syllables))]
        pieces = re.findall(r"[A-Za-z0-9'\u00c0-\u024f]+|\s+|.", replacement)
        return [G2PToken(piece, _kind_of(piece)) for piece in pieces]


def _hybrid(token: G2PToken) -> str:
    """Upstream phoneme mode: context-dependent characters become phoneme tokens, the rest stays text."""
    parts = []
    for char, syllable in zip(token.text, token.pinyin, strict=False):
        parts.append(_char_tokens(char, syllable) if char in PHONEME_CHARACTERS and syllable else char)
    parts.append(token.text[len(token.pinyin) :])
    return "".join(parts)


def _char_tokens(char: str, syllable: str) -> str:
    try:
        return format_tokens(pinyin_to_tokens(syllable))
    except UnknownPhonemeError:
        return char


def _kind_of(chunk: str) -> TokenKind:
    if chunk.isspace():
        return TokenKind.SPACE
    if _LATIN_WORD.fullmatch(chunk):
        return TokenKind.EN
    if all(ch in _PUNCTUATION for ch in chunk):
        return TokenKind.PUNCT
    return TokenKind.OTHER
