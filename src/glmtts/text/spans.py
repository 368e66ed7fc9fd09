"""Where each piece of normalized text came from in the original: character offsets for captions.

Normalization rewrites text ("2025年" → "二零二五年", "$5" → "five dollars", emoji dropped, newlines turned
into marks), so offsets into the normalized text mean nothing to a user. :class:`SourceMap` aligns the two
texts once per request (:class:`PieceMap`: the original is cut into clause pieces at its marks and
each piece is normalized on its own, which anchors every mark) with a minimum-edit (Levenshtein) alignment
of their *folded* forms cut into units (Latin/digit runs, single other characters): case, width
(NFKC) and the punctuation variants the normalizer converts (``！`` → ``。``, ``,`` → ``，``, a line break →
a mark; all clause and sentence marks fold to one) fold to one symbol each, so what the normalizer kept lines up character for character and what it
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
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate

#: Punctuation variants folded to one symbol before aligning (the normalizer converts between them).
#: Clause and sentence marks fold to one symbol: a piece normalized on its own ends in a sentence mark
#: where the whole text had a comma.
_FOLDED_MARKS = {
    **dict.fromkeys("。．.！!\n…，,、？?；;：:", "."),
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
    normalizer's output in letter case.

    The alignment is over *units* (a run of Latin letters and digits, or one other character; the
    whitespace after a unit is not compared), so a kept word never lines up with letters of a rewritten
    one (``$5 at`` → ``five dollars at``: ``at`` is kept); consecutive edits form one rewritten block."""

    def __init__(self, original: str, normalized: str) -> None:
        from rapidfuzz.distance import Levenshtein

        self._n_original = len(original)
        self._n_normalized = len(normalized)
        source_units, dest_units = _units(fold(original)), _units(fold(normalized))
        source_keys, dest_keys = (
            [unit.strip() for unit in source_units],
            [unit.strip() for unit in dest_units],
        )
        source_edges = list(accumulate((len(unit) for unit in source_units), initial=0))
        dest_edges = list(accumulate((len(unit) for unit in dest_units), initial=0))
        self._source_edges = source_edges
        self._blocks: list[tuple[str, int, int, int, int]] = []
        for op in Levenshtein.opcodes(source_keys, dest_keys):
            if op.tag != "equal":
                self._add("replace", source_edges[op.src_start], source_edges[op.src_end],
                          dest_edges[op.dest_start], dest_edges[op.dest_end])  # fmt: skip
                continue
            for i, j in zip(range(op.src_start, op.src_end), range(op.dest_start, op.dest_end), strict=True):
                kept = len(source_keys[i])  # the unit itself; the whitespace after it may differ
                self._add(
                    "equal", source_edges[i], source_edges[i] + kept, dest_edges[j], dest_edges[j] + kept
                )
                self._add("replace", source_edges[i] + kept, source_edges[i + 1],
                          dest_edges[j] + kept, dest_edges[j + 1])  # fmt: skip
        self._starts = [block[3] for block in self._blocks]

    def _add(self, tag: str, src_start: int, src_end: int, dest_start: int, dest_end: int) -> None:
        """Append an aligned block. Consecutive rewritten blocks merge; original text with nothing
        normalized beside it joins the block before (a boundary never falls inside it)."""
        if tag == "replace" and self._blocks and self._blocks[-1][0] == "replace":
            last = self._blocks.pop()
            src_start, dest_start = last[1], last[3]
        if dest_end > dest_start:
            self._blocks.append((tag, src_start, src_end, dest_start, dest_end))
        elif self._blocks and self._blocks[-1][0] == "replace":
            self._blocks[-1] = (*self._blocks[-1][:2], src_end, *self._blocks[-1][3:])

    def boundary(self, position: int, outward: int = 0) -> int:
        """The original offset of the boundary before ``normalized[position]``. Inside a rewritten
        block, ``outward`` ``-1`` / ``1`` moves it to the start / end of the original unit it falls in
        (a word read from ``2025`` then spans all of ``2025``)."""
        if position <= 0:
            return 0
        if position >= self._n_normalized:
            return self._n_original
        tag, src_start, src_end, dest_start, dest_end = self._blocks[bisect_right(self._starts, position) - 1]
        offset = position - dest_start
        if tag == "equal":
            return min(src_start + offset, src_end)
        point = src_start + round(offset * (src_end - src_start) / (dest_end - dest_start))
        if outward < 0:
            return max(src_start, self._source_edges[bisect_right(self._source_edges, point) - 1])
        if outward > 0:
            return min(src_end, self._source_edges[bisect_left(self._source_edges, point)])
        return point


_UNIT = re.compile(r"(?:[a-z0-9'\u00c0-\u024f]+|\S)\s*|\s+")


def _units(folded: str) -> list[str]:
    """``folded`` cut into alignment units, each with the whitespace after it (they concatenate to it;
    units are compared without that whitespace, so a space never aligns with a rewritten word)."""
    return _UNIT.findall(folded)


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

    def boundary(self, position: int, outward: int = 0) -> int:
        """The original offset of the boundary before ``normalized[position]`` (``outward``: see
        :meth:`SourceMap.boundary`)."""
        joined = self._outer.boundary(position, outward)
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
        return piece_start + self._inner[index].boundary(inside, outward)

    def span(self, start: int, end: int, whole_units: bool = False) -> tuple[int, int]:
        """The original ``(char_start, char_end)`` of ``normalized[start:end]``, without the whitespace
        around it; ``whole_units``: widened to the whole original units it was read from (a word)."""
        outward = 1 if whole_units else 0
        char_start, char_end = self.boundary(start, -outward), self.boundary(end, outward)
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
