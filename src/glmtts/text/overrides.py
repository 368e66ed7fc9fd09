"""The one table of readings where glmtts deliberately differs from the official GLM-TTS frontend.

Everything else reads exactly like the official frontend, including its debatable choices (``3-5个`` →
三减五个, ``400-820-8820`` → 四零零减八二零减八千八百二十, ``hr@company.cn`` → hr@company。cn). An override
is only for a plain upstream bug that says something the text does not mean. Each entry records an example
with the official output (from the official code) and ours; ``tests/unit/text/test_overrides.py`` checks both,
the official one by turning the overrides off (``FrontendConfig(apply_overrides=False)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from glmtts.text.grammar import Grammar


@dataclass(frozen=True)
class Override:
    """One deliberate difference: ``example`` normalizes to ``official`` upstream and to ``ours`` here."""

    name: str
    language: str
    reason: str
    example: str
    official: str
    ours: str


OVERRIDES: tuple[Override, ...] = (
    Override(
        name="full-width-tilde-range",
        language="zh",
        reason="a full-width ～ between numbers is a range like ~; upstream's grammar does not know it, reads the "
        "first number digit by digit and turns ～ into a full stop",
        example="价格从100～200元不等。",
        official="价格从幺零零。两百元不等。",
        ours="价格从一百到两百元不等。",
    ),
    Override(
        name="negative-number",
        language="zh",
        reason="upstream drops every hyphen that is not between digits, so a minus sign vanishes and -3℃ is "
        "said as three degrees; the grammar itself reads the sign (负)",
        example="气温-3℃。",
        official="气温三摄氏度。",
        ours="气温负三摄氏度。",
    ),
    Override(
        name="per-word",
        language="en",
        reason="the English grammar reads a unit out of the start of the word after 'per' (per day → per "
        "dalton y, per hour → per h our); 'per' is then left to the grammar only where it is followed by a "
        "whole unit (per kg → per kilogram)",
        example="It travels 10km per day.",
        official="it travels ten kilometers per dalton y.",
        ours="it travels ten kilometers per day.",
    ),
)

NEGATIVE_PLACEHOLDER = "\ue0f0"
_FULL_WIDTH_TILDE_RANGE = re.compile(r"(?<=\d)\s*[～〜]\s*(?=\d)")
_HYPHEN_BEFORE_DIGIT = re.compile(r"-(?=\d)")
_NOT_A_SIGN_AFTER = re.compile(r"[0-9A-Za-z.\-]")
_PER_WORD = re.compile(r"\bper (?=([a-z]+))")


def zh_before_rules(text: str) -> str:
    """Before upstream's ``pre_replace``: a ～ range becomes ``~``; a minus sign is hidden from the hyphen rules
    (restored by :func:`zh_before_grammar`)."""
    text = _FULL_WIDTH_TILDE_RANGE.sub("~", text)
    return _HYPHEN_BEFORE_DIGIT.sub(lambda match: _minus_or_hyphen(text, match.start()), text)


def zh_before_grammar(text: str) -> str:
    """Just before the Chinese grammar: the hidden minus signs come back for the grammar to read."""
    return text.replace(NEGATIVE_PLACEHOLDER, "-")


def _minus_or_hyphen(text: str, index: int) -> str:
    """A ``-`` before a digit is a minus sign unless a digit, letter, dot or hyphen precedes it (spaces
    skipped): ``-3``, ``了-5``, ``=-5`` are signs; ``3-5``, ``3 -5``, ``A-3`` are upstream's hyphen, and so is
    the redundant sign of ``零下-5`` (upstream's 零下五 is right there)."""
    before = text[:index].rstrip(" ")
    if before and (_NOT_A_SIGN_AFTER.match(before[-1]) or before.endswith("零下")):
        return "-"
    return NEGATIVE_PLACEHOLDER


def en_before_grammar(text: str, grammar: Grammar) -> str:
    """``per`` + word becomes ``Per`` (which the grammar leaves alone; the text is lower-cased later) where
    the grammar would read a unit out of the start of that word."""

    def replace(match: re.Match[str]) -> str:
        word = match.group(1)
        tokens = grammar.tag(f"per {word}").split(" } ")
        splits_the_word = len(tokens) > 1 and tokens[0].startswith("measure ")
        return "Per " if splits_the_word else match.group(0)

    return _PER_WORD.sub(replace, text)
