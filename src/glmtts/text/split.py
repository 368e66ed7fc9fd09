"""Splitting normalized text into segments of bounded length (upstream ``split_by_len``).

Text is read as units: a CJK character, a punctuation mark, or an English word weighing 0.7 × its
syllables. Units accumulate until a punctuation mark closes a span of at least ``min_units``; a span that
reaches ``max_units`` without punctuation is cut there. Cuts never fall inside an English word, nor inside a
span the normalizer protected (a spoken number, date, phone number or quoted name).
"""

from __future__ import annotations

import re

from glmtts.text.marks import PROTECT_CLOSE, PROTECT_OPEN

SPLIT_PUNCTUATION = frozenset("，。？！?!,.;；:：、…")
ENGLISH_WORD_WEIGHT = 0.7
_UNIT_PATTERN = re.compile(r"[A-Za-z0-9'\u00c0-\u024f]+|\s+|.", re.DOTALL)
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def count_syllables(word: str) -> int:
    """Estimate the syllables of an English word from its vowel groups (a silent final e is not counted)."""
    lowered = word.lower().strip("'")
    if not lowered:
        return 0
    if lowered.isdigit():
        return len(lowered)
    groups = len(_VOWEL_GROUPS.findall(lowered))
    if lowered.endswith("e") and not lowered.endswith(("le", "ee")) and groups > 1:
        groups -= 1
    return max(groups, 1)


def unit_weight(unit: str) -> float:
    """How much a unit counts toward a segment's length."""
    if unit.isspace() or unit in (PROTECT_OPEN, PROTECT_CLOSE):
        return 0.0
    if len(unit) > 1 or (unit.isascii() and unit.isalnum()):
        return ENGLISH_WORD_WEIGHT * count_syllables(unit)
    return 1.0


def split_text(text: str, min_units: int = 30, max_units: int = 60) -> list[str]:
    """Split ``text`` (which may hold protection marks) into pieces, keeping every character.

    A piece ends at a punctuation mark once it holds ``min_units``, or is cut at ``max_units`` outside a
    protected span (a protected span longer than twice ``max_units`` is cut anyway). Whitespace that follows
    a cut stays with the piece before it, as upstream.
    """
    if min_units <= 0 or max_units < min_units:
        raise ValueError(f"need 0 < min_units <= max_units, got {min_units} and {max_units}")
    units = _UNIT_PATTERN.findall(text)
    pieces: list[str] = []
    current: list[str] = []
    length = 0.0
    depth = 0
    for index, unit in enumerate(units):
        if unit.isspace() and not current and pieces:
            pieces[-1] += unit
            continue
        current.append(unit)
        depth += (unit == PROTECT_OPEN) - (unit == PROTECT_CLOSE)
        length += unit_weight(unit)
        if _should_cut(units, index, length, depth, min_units, max_units):
            pieces.append("".join(current))
            current, length = [], 0.0
    if current:
        pieces.append("".join(current))
    return pieces


def _should_cut(
    units: list[str], index: int, length: float, depth: int, min_units: int, max_units: int
) -> bool:
    unit = units[index]
    next_unit = _next_meaningful(units, index)
    if next_unit == PROTECT_CLOSE:
        return False
    if unit in SPLIT_PUNCTUATION:
        return length >= min_units and depth <= 0 and next_unit not in SPLIT_PUNCTUATION
    if length < max_units or next_unit in SPLIT_PUNCTUATION or next_unit is None:
        return False
    return depth <= 0 or length >= 2 * max_units


def _next_meaningful(units: list[str], index: int) -> str | None:
    for unit in units[index + 1 :]:
        if not unit.isspace():
            return unit
    return None
