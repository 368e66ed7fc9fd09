"""English readings of numbers: cardinals, ordinals, decimals, years, digit strings."""

from __future__ import annotations

from glmtts.text.numerals import read_numeric_literal

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ("", "thousand", "million", "billion", "trillion", "quadrillion")
_ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}  # fmt: skip


def read_digits(digits: str) -> str:
    """Read each digit: ``"555"`` → ``"five five five"``."""
    return " ".join(_ONES[int(d)] for d in digits if d.isdigit())


def _read_below_hundred(value: int) -> str:
    if value < 20:
        return _ONES[value]
    tens, ones = divmod(value, 10)
    return _TENS[tens] + (" " + _ONES[ones] if ones else "")


def _read_below_thousand(value: int, with_and: bool) -> str:
    hundreds, rest = divmod(value, 100)
    if not hundreds:
        return _read_below_hundred(rest)
    text = _ONES[hundreds] + " hundred"
    if rest:
        text += (" and " if with_and else " ") + _read_below_hundred(rest)
    return text


def read_cardinal(number: int) -> str:
    """Read an integer, ``and`` only inside the last group: ``1234567`` → ``one million two hundred thirty four
    thousand five hundred and sixty seven``."""
    if number < 0:
        return "minus " + read_cardinal(-number)
    if number == 0:
        return "zero"
    if number >= 1000 ** len(_SCALES):
        return read_digits(str(number))
    groups: list[int] = []
    while number:
        groups.append(number % 1000)
        number //= 1000
    parts: list[str] = []
    for index in range(len(groups) - 1, -1, -1):
        if groups[index]:
            words = _read_below_thousand(groups[index], with_and=index == 0)
            parts.append(words + (" " + _SCALES[index] if index else ""))
    return " ".join(parts)


def to_ordinal(words: str) -> str:
    """Turn a cardinal reading into an ordinal one: ``"twenty one"`` → ``"twenty first"``."""
    head, _, last = words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head} {last}" if head else last


def read_ordinal(number: int) -> str:
    """``5`` → ``"fifth"``, ``21`` → ``"twenty first"``."""
    return to_ordinal(read_cardinal(number))


def read_number(text: str) -> str:
    """Read a numeric literal: ``"7.5"`` → ``"seven point five"``, ``"1,234"`` → ``"one thousand two hundred
    thirty four"``, ``"007"`` → ``"zero zero seven"``."""
    cleaned = text.replace(",", "")
    return read_numeric_literal(
        cleaned, cardinal=read_cardinal, digits=read_digits, point=" point ", minus="minus "
    )


def read_year(value: int) -> str:
    """Read a year: ``2021`` → ``"twenty twenty one"``, ``2005`` → ``"two thousand five"``,
    ``1900`` → ``"nineteen hundred"``, ``1905`` → ``"nineteen oh five"``."""
    if value < 1000 or value >= 10000:
        return read_cardinal(value)
    high, low = divmod(value, 100)
    if 2000 <= value < 2010 or value % 1000 == 0:
        return read_cardinal(value)
    if low == 0:
        return _read_below_hundred(high) + " hundred"
    if low < 10:
        return _read_below_hundred(high) + " oh " + _ONES[low]
    return _read_below_hundred(high) + " " + _read_below_hundred(low)
