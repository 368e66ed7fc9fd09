"""Turning one normalized segment into words with their readings (the tokens and pinyin engines such as
``kokoro`` read); the ``glm`` engine's phoneme-mode text comes from :mod:`glmtts.text.phoneme_mode`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping

from glmtts.text.config import G2PToken, Segment, TokenKind
from glmtts.text.dictionary import PronunciationDictionary
from glmtts.text.g2p import MandarinG2P
from glmtts.text.normalize import CJK_PATTERN
from glmtts.text.phonemes import read_hybrid

_LATIN_WORD = re.compile(r"[A-Za-z0-9'\u00c0-\u024f]+")
_PUNCTUATION = frozenset("，。？！?!,.;；:：、…-")
_CONTEXT_CHARS = 4


class SegmentAnalyzer:
    """Reads a segment with a pronunciation dictionary (longest key first) and Mandarin G2P."""

    def __init__(self, g2p: MandarinG2P) -> None:
        self._g2p = g2p

    def analyze(
        self,
        text: str,
        dictionary: PronunciationDictionary,
        phonemes: str | None = None,
        cased_words: Mapping[str, str] | None = None,
    ) -> Segment:
        """Analyze ``text`` (one normalized, lower-case piece). ``phonemes``: its phoneme-mode text, if any.
        ``cased_words``: lower-case word → the letter case it had in the input (``"gpu"`` → ``"GPU"``), so
        an English token can still be spelled as an acronym."""
        tokens: list[G2PToken] = []
        for start, end, replacement in self._spans(text, dictionary):
            chunk = text[start:end]
            if replacement is not None:
                overrides = self._override_tokens(chunk, replacement)
                tokens.extend(
                    dataclasses.replace(token, char_start=start, char_end=end) for token in overrides
                )
            elif CJK_PATTERN.match(chunk):
                tokens.extend(
                    self._chinese_tokens(
                        chunk,
                        start,
                        text[max(0, start - _CONTEXT_CHARS) : start],
                        text[end : end + _CONTEXT_CHARS],
                    )
                )
            else:
                shown = cased_words.get(chunk, chunk) if cased_words else chunk
                tokens.append(G2PToken(shown, _kind_of(chunk), char_start=start, char_end=end))
        pinyin = " ".join(s for token in tokens if token.kind is TokenKind.ZH for s in token.pinyin)
        return Segment(text=text, tokens=tuple(tokens), pinyin=pinyin, phonemes=phonemes)

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

    def _chinese_tokens(self, run: str, offset: int, before: str, after: str) -> list[G2PToken]:
        """The words of a CJK ``run`` that starts at ``offset`` of the segment text."""
        syllables = self._g2p.read(run, before, after)
        tokens: list[G2PToken] = []
        position = 0
        for word in self._g2p.words(run):
            start = offset + position
            tokens.append(
                G2PToken(
                    word, TokenKind.ZH, syllables[position : position + len(word)], start, start + len(word)
                )
            )
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


def _kind_of(chunk: str) -> TokenKind:
    if chunk.isspace():
        return TokenKind.SPACE
    if _LATIN_WORD.fullmatch(chunk):
        return TokenKind.EN
    if all(ch in _PUNCTUATION for ch in chunk):
        return TokenKind.PUNCT
    return TokenKind.OTHER
