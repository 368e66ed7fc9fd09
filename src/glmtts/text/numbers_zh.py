"""Chinese readings of numbers: cardinals, decimals, digit strings and years."""

from __future__ import annotations

from glmtts.text.numerals import read_numeric_literal

DIGITS_ZH = "零一二三四五六七八九"
PHONE_DIGITS_ZH = "零幺二三四五六七八九"
_SMALL_UNITS = ("", "十", "百", "千")
_GROUP_UNITS = ("", "万", "亿", "万亿", "亿亿")


def read_digits(digits: str, phone: bool = False) -> str:
    """Read each digit: ``"2024"`` → ``"二零二四"``; ``phone=True`` reads 1 as 幺."""
    table = PHONE_DIGITS_ZH if phone else DIGITS_ZH
    return "".join(table[int(d)] for d in digits if d.isdigit())


def _read_group(value: int) -> str:
    """Read 0 < value < 10000 with zeros between non-zero places (``1005`` → ``一千零五``)."""
    places = [int(d) for d in f"{value:04d}"]
    parts: list[str] = []
    pending_zero = False
    for index, digit in enumerate(places):
        unit = _SMALL_UNITS[3 - index]
        if digit == 0:
            pending_zero = bool(parts)
            continue
        if pending_zero:
            parts.append("零")
            pending_zero = False
        parts.append(DIGITS_ZH[digit] + unit)
    return "".join(parts)


def read_cardinal(number: int) -> str:
    """Read an integer: ``6300`` → ``六千三百``, ``10`` → ``十``, ``-5`` → ``负五``, ``2500`` → ``两千五百``."""
    if number < 0:
        return "负" + read_cardinal(-number)
    if number == 0:
        return "零"
    if number >= 10000 ** len(_GROUP_UNITS):
        return read_digits(str(number))
    groups: list[int] = []
    while number:
        groups.append(number % 10000)
        number //= 10000
    parts: list[str] = []
    need_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            need_zero = bool(parts)
            continue
        if parts and (need_zero or group < 1000):
            parts.append("零")
        parts.append(_read_group(group) + _GROUP_UNITS[index])
        need_zero = False
    text = "".join(parts)
    if text.startswith("一十"):
        return text[1:]
    if text.startswith(("二千", "二万", "二亿")):
        return "两" + text[1:]  # 两千, 两万, 两亿: how a leading two is said before these units
    return text


def read_number(text: str) -> str:
    """Read a numeric literal: integer or decimal, commas allowed (``"1,234.50"`` → ``一千二百三十四点五零``)."""
    cleaned = text.replace(",", "").replace("，", "")
    return read_numeric_literal(cleaned, cardinal=read_cardinal, digits=read_digits, point="点", minus="负")


def read_year(digits: str) -> str:
    """Read a year digit by digit: ``"2024"`` → ``"二零二四"``."""
    return read_digits(digits)
