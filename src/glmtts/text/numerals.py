"""Language-independent reading of a numeric literal; each language supplies its own words."""

from __future__ import annotations

from collections.abc import Callable


def read_numeric_literal(
    text: str,
    *,
    cardinal: Callable[[int], str],
    digits: Callable[[str], str],
    point: str,
    minus: str,
) -> str:
    """Read ``[+-]integer[.fraction]`` (separators already removed).

    A leading-zero integer part (``"007"``) and the fraction are read digit by digit; the integer part is
    otherwise read as a cardinal. ``point`` joins the two parts, ``minus`` prefixes negative numbers.
    """
    negative = text.startswith(("-", "−"))
    if negative or text.startswith("+"):
        text = text[1:]
    integer, _, fraction = text.partition(".")
    if len(integer) > 1 and integer.startswith("0"):
        spoken = digits(integer)
    else:
        spoken = cardinal(int(integer or "0"))
    if fraction:
        spoken += point + digits(fraction)
    return (minus if negative else "") + spoken
