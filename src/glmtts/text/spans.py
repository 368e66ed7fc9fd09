"""Where each piece of normalized text came from in the original: character offsets for captions.

Normalization rewrites text ("2025年" → "二零二五年", "$5" → "five dollars", emoji dropped, newlines turned
into marks), so offsets into the normalized text mean nothing to a user. :class:`SourceMap` aligns the two
texts once per request (:class:`PieceMap`: the original is cut into clause pieces at its marks and
each piece is normalized on its own, which anchors every mark) with a minimum-edit (Levenshtein) alignment of their *folded* forms: case, width
(NFKC) and the punctuation variants the normalizer converts (``！`` → ``。``, ``,`` → ``，``, a line break →
a mark) fold to one symbol each, so what the normalizer kept lines up character for character and what it
rewrote forms one replaced block. A boundary of the normalized text maps into the original as:

* inside kept text, the same character;
* inside a rewritten block, a proportional point of the block (only a hard cut in a long unpunctuated
  run lands there; segment ends fall on marks, which are kept);
* next to text the normalizer removed (emoji, line breaks, brackets), after it: what was dropped joins
  the segment before.

The map is monotone and maps 0 → 0 and the end to the end, so consecutive segments tile the original.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

#: Punctuation variants folded to one symbol before aligning (the normalizer converts between them).
_FOLDED_MARKS = {
    **dict.fromkeys("。．.！!\n…", "."),
    **dict.fromkeys("，,、", ","),
    **dict.fromkeys("？?", "?"),
    **dict.fromkeys("；;", ";"),
    **dict.fromkeys("：:", ":"),
    **dict.fromkeys("'’‘", "'"),
}

_PIECE_END = re.compile(r"(?:[。！？；：，、…]+|[.!?;:,]+(?=\s|$)|\n)\s*")


def fold(text: str) -> str:
    """``text`` with each character folded (case, width, mark variants); same length as ``text``."""
    return "".join(_fold_char(char) for char in text)


def _fold_char(char: str) -> str:
    if char in _FOLDED_MARKS:
        return _FOLDED_MARKS[char]
    wide = unicodedata.normalize("NFKC", char)
    if len(wide) == 1:
        char = _FOLDED_MARKS.get(wide, wide)
    lower = char.lower()
    return lower if len(lower) == 1 else char


class SourceMap:
    """Maps boundaries (offsets between characters) of ``normalized`` to boundaries of ``original`` by one
    folded minimum-edit alignment (see the module docstring). ``normalized`` may differ from the
    normalizer's output in letter case."""

    def __init__(self, original: str, normalized: str) -> None:
        from rapidfuzz.distance import Levenshtein

        self._n_original = len(original)
        self._n_normalized = len(normalized)
        opcodes = Levenshtein.opcodes(fold(original), fold(normalized))
        self._blocks = [op for op in opcodes if op.dest_end > op.dest_start]
        self._starts = [block.dest_start for block in self._blocks]

    def boundary(self, position: int) -> int:
        """The original offset of the boundary before ``normalized[position]``."""
        if position <= 0:
            return 0
        if position >= self._n_normalized:
            return self._n_original
        block = self._blocks[bisect_right(self._starts, position) - 1]
        offset = position - block.dest_start
        if block.tag == "equal":
            return block.src_start + offset
        n_dest = block.dest_end - block.dest_start
        return block.src_start + round(offset * (block.src_end - block.src_start) / n_dest)


class PieceMap:
    """:class:`SourceMap` anchored on clause pieces normalized one by one.

    ``pieces`` are ``(start, end)`` spans tiling ``original`` and ``normalized_pieces`` their normalizations
    on their own. A boundary of the whole text's normalization is first aligned to the concatenated piece
    normalizations (which differ from it only where context mattered), which tells the piece it lies in;
    a boundary at a piece's start maps exactly to that piece's start, one inside a piece is aligned
    within the piece. A rewrite never spans pieces, so no alignment tie can move a boundary across a mark.
    """

    def __init__(
        self,
        original: str,
        normalized: str,
        pieces: Sequence[tuple[int, int]],
        normalized_pieces: Sequence[str],
    ) -> None:
        self._original = original
        self._pieces = list(pieces)
        self._normalized_pieces = list(normalized_pieces)
        self._offsets = list(accumulate((len(piece) for piece in normalized_pieces), initial=0))
        self._outer = SourceMap("".join(normalized_pieces), normalized)
        self._inner: dict[int, SourceMap] = {}

    def boundary(self, position: int) -> int:
        """The original offset of the boundary before ``normalized[position]``."""
        joined = self._outer.boundary(position)
        index = bisect_right(self._offsets, joined) - 1
        if index >= len(self._pieces):
            return len(self._original)
        piece_start, piece_end = self._pieces[index]
        inside = joined - self._offsets[index]
        if inside == 0:
            return piece_start
        if index not in self._inner:
            self._inner[index] = SourceMap(
                self._original[piece_start:piece_end], self._normalized_pieces[index]
            )
        return piece_start + self._inner[index].boundary(inside)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``(char_start, char_end)`` of ``normalized[start:end]``, without the whitespace
        around it."""
        char_start, char_end = self.boundary(start), self.boundary(end)
        text = self._original
        while char_start < char_end and text[char_start].isspace():
            char_start += 1
        while char_end > char_start and text[char_end - 1].isspace():
            char_end -= 1
        return char_start, char_end


def split_source(text: str) -> list[tuple[int, int]]:
    """Clause pieces of the original text, tiling it: each ends after a run of marks (an ASCII mark only
    when whitespace or the end follows, so "3.5" and "e.g." stay whole) or at a line break."""
    pieces: list[tuple[int, int]] = []
    start = 0
    for match in _PIECE_END.finditer(text):
        if match.end() > start:
            pieces.append((start, match.end()))
            start = match.end()
    if start < len(text) or not pieces:
        pieces.append((start, len(text)))
    return pieces
