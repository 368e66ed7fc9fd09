"""Splitting normalized text into pieces, as the official ``split_by_len(text, 30, 60)`` does.

Text is read as units: a CJK character, an English word (letters, with ``'`` or ``-`` inside), or any other
single character; a space joins the unit before it. A unit counts 1, an all-ASCII word 0.7 × its syllables.
A piece ends at a punctuation mark once it counts ``min_units``; a piece still longer than ``max_units`` is
cut after its ``max_units``-th unit (one more if that unit is a mark), as often as needed.

Syllables come from :func:`count_syllables`, upstream's fallback rule (vowel groups, no final e). Upstream
looks a word up in the CMU dictionary first (the ``pronouncing`` package, about 2 s to load); the two
counts differ for some words, which moves a cut only when a piece is within a syllable of a limit.
"""

from __future__ import annotations

import re
import unicodedata

PUNCTUATION_MARKS = frozenset("。？！；：、.?!;:，,")
ENGLISH_WORD_WEIGHT = 0.7
_WORD_JOINERS = frozenset("'-")
_SYLLABLE = re.compile(r"(?!e$)[aeiouy]+", re.IGNORECASE)
_SILENT_E_ONLY = re.compile(r"[^aeiouy]*e", re.IGNORECASE)


def count_syllables(word: str) -> int:
    """Vowel groups of ``word`` (a final e not counted unless it is the only vowel), at least 1."""
    lowered = word.lower()
    count = len(_SYLLABLE.findall(lowered)) + (1 if _SILENT_E_ONLY.fullmatch(lowered) else 0)
    return max(count, 1)


def _is_cjk(char: str) -> bool:
    name = unicodedata.name(char, "")
    return "CJK" in name or "IDEOGRAPH" in name


def split_units(text: str) -> list[str]:
    """Upstream ``split_into_units``: CJK characters, English words and other characters, spaces joined to
    the unit before them."""
    units: list[str] = []
    word: list[str] = []
    for char in text:
        if not _is_cjk(char) and (char.isalpha() or (word and char in _WORD_JOINERS)):
            word.append(char)
            continue
        if word:
            units.append("".join(word))
            word = []
        units.append(char)
    if word:
        units.append("".join(word))
    merged: list[str] = []
    for unit in units:
        if unit.isspace() and merged:
            merged[-1] += unit
        else:
            merged.append(unit)
    return merged


def unit_weight(unit: str) -> float:
    """How much a unit counts: 0.7 × syllables for an all-ASCII word, else 1."""
    stripped = unit.strip()
    if stripped and stripped.isalpha() and stripped.isascii():
        return ENGLISH_WORD_WEIGHT * count_syllables(stripped)
    return 1.0


def count_units(units: list[str]) -> float:
    """Upstream ``count_char``."""
    return sum(unit_weight(unit) for unit in units)


def split_text(text: str, min_units: int = 30, max_units: int = 60) -> list[str]:
    """Upstream ``split_by_len``: sentences of at least ``min_units`` ending at a mark, then hard cuts."""
    if min_units <= 0 or max_units < min_units:
        raise ValueError(f"need 0 < min_units <= max_units, got {min_units} and {max_units}")
    sentences: list[list[str]] = []
    current: list[str] = []
    for unit in split_units(text):
        current.append(unit)
        if unit.strip() in PUNCTUATION_MARKS and count_units(current) >= min_units:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return ["".join(piece) for sentence in sentences for piece in _cut_hard(sentence, max_units)]


def _cut_hard(units: list[str], max_units: int) -> list[list[str]]:
    """Cut after ``max_units`` units (one more if that one is a mark) while the rest counts more than that.

    Upstream indexes the unit list by ``max_units`` and fails when many long English words make the count
    exceed the limit with fewer units; such a rest is kept whole here."""
    pieces: list[list[str]] = []
    while count_units(units) > max_units and len(units) > max_units:
        end = max_units + 1 if units[max_units].strip() in PUNCTUATION_MARKS else max_units
        pieces.append(units[:end])
        units = units[end:]
    if units:
        pieces.append(units)
    return pieces
