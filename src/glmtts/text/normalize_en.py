"""Verbalization rules for English text: numbers, money, dates, times, phone numbers, units, symbols.

Like :mod:`glmtts.text.normalize_zh`, rules run in order over the whole text and spoken numbers are wrapped
in protection marks. Readings follow upstream's WeText output where it is right ("the fifth of march,
twenty twenty one", "ten forty five am", "gpu's"), and say money as dollars and cents.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from glmtts.text.marks import protect
from glmtts.text.numbers_en import read_cardinal, read_digits, read_number, read_ordinal, read_year
from glmtts.text.symbols import GREEK_EN, MATH_SYMBOLS_EN, UNITS_EN

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december",
)  # fmt: skip
_MONTH_PATTERN = (
    r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
ABBREVIATIONS = {
    "Dr.": "doctor", "Mr.": "mister", "Mrs.": "missus", "Ms.": "miss", "Prof.": "professor",
    "St.": "saint", "Jr.": "junior", "Sr.": "senior", "vs.": "versus", "etc.": "et cetera",
    "e.g.": "for example", "i.e.": "that is", "approx.": "approximately", "Inc.": "incorporated",
    "Ltd.": "limited", "Co.": "company", "Mt.": "mount",
}  # fmt: skip
_ABBREVIATION_PATTERN = re.compile(
    r"(?<![\w.])(" + "|".join(re.escape(a) for a in ABBREVIATIONS) + r")(?=\s|$)", re.IGNORECASE
)
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
               "£": ("pound", "pounds", "penny", "pence"), "¥": ("yuan", "yuan", "fen", "fen")}  # fmt: skip
_UNIT_NO_SPACE = "|".join(sorted((re.escape(u) for u in UNITS_EN), key=len, reverse=True))
_UNIT_SPACED = "|".join(
    sorted(
        (re.escape(u) for u in UNITS_EN if len(u) > 1 and u not in ("mi", "hr", "ms")), key=len, reverse=True
    )
)


def _month_name(text: str) -> str:
    prefix = text.lower().rstrip(".")[:3]
    return next(m for m in MONTHS if m.startswith(prefix))


def _money(match: re.Match[str]) -> str:
    one, many, sub_one, sub_many = _CURRENCIES[match.group("cur")]
    amount = match.group("n").replace(",", "")
    scale = match.group("scale")
    whole, _, cents = amount.partition(".")
    if scale:
        return protect(f"{read_number(amount)} {scale.lower()} {many}")
    units = int(whole or "0")
    spoken = f"{read_cardinal(units)} {one if units == 1 else many}"
    if cents and int(cents) and len(cents) == 2:
        spoken += f" and {read_cardinal(int(cents))} {sub_one if int(cents) == 1 else sub_many}"
    elif cents and int(cents):
        spoken = f"{read_number(amount)} {many}"
    return protect(spoken)


def _date_month_day(match: re.Match[str]) -> str:
    spoken = f"the {read_ordinal(int(match.group('day')))} of {_month_name(match.group('month'))}"
    if match.group("year"):
        spoken += ", " + read_year(int(match.group("year")))
    return protect(spoken)


def _date_day_month(match: re.Match[str]) -> str:
    spoken = f"the {read_ordinal(int(match.group('day')))} of {_month_name(match.group('month'))}"
    if match.group("year"):
        spoken += " " + read_year(int(match.group("year")))
    return protect(spoken)


def _date_iso(match: re.Match[str]) -> str:
    month = MONTHS[int(match.group("m")) - 1]
    return protect(
        f"the {read_ordinal(int(match.group('d')))} of {month}, {read_year(int(match.group('y')))}"
    )


def _time(match: re.Match[str]) -> str:
    hour, minute = int(match.group("h")), int(match.group("min"))
    suffix = (match.group("ampm") or "").replace(".", "").lower()
    if minute == 0:
        spoken = read_cardinal(hour) + ("" if suffix else " o'clock")
    elif minute < 10:
        spoken = f"{read_cardinal(hour)} oh {read_cardinal(minute)}"
    else:
        spoken = f"{read_cardinal(hour)} {read_cardinal(minute)}"
    return protect(spoken + (f" {suffix}" if suffix else ""))


def _hour_ampm(match: re.Match[str]) -> str:
    suffix = match.group("ampm").replace(".", "").lower()
    return protect(f"{read_cardinal(int(match.group('h')))} {suffix}")


def _phone(match: re.Match[str]) -> str:
    groups = [g for g in re.split(r"[^\d]+", match.group(0)) if g]
    return protect(", ".join(read_digits(group) for group in groups))


def _percent(match: re.Match[str]) -> str:
    return protect(read_number(match.group(1)) + " percent")


def _ordinal(match: re.Match[str]) -> str:
    return protect(read_ordinal(int(match.group(1))))


def _decade(match: re.Match[str]) -> str:
    words = read_year(int(match.group(1)))
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return protect(f"{head} {last}".strip())


def _year(match: re.Match[str]) -> str:
    return match.group(1) + protect(read_year(int(match.group(2))))


def _unit(match: re.Match[str]) -> str:
    amount = match.group("n")
    singular, plural = UNITS_EN[match.group("u")]
    return protect(read_number(amount)) + " " + (singular if amount == "1" else plural)


def _fraction(match: re.Match[str]) -> str:
    numerator, denominator = int(match.group(1)), int(match.group(2))
    if denominator == 2:
        name = "half" if numerator == 1 else "halves"
    elif denominator == 4:
        name = "quarter" if numerator == 1 else "quarters"
    else:
        name = read_ordinal(denominator) + ("" if numerator == 1 else "s")
    return protect(f"{read_cardinal(numerator)} {name}")


def _range(match: re.Match[str]) -> str:
    return protect(f"{read_number(match.group(1))} to {read_number(match.group(2))}")


def _minus(match: re.Match[str]) -> str:
    return protect(f"{read_number(match.group(1))} minus {read_number(match.group(2))}")


def _scientific(match: re.Match[str]) -> str:
    exponent = read_number(match.group(2))
    return protect(f"{read_number(match.group(1))} times ten to the power of {exponent}")


def _address(match: re.Match[str]) -> str:
    """An e-mail or web address: dots and signs spoken, digits read one by one."""
    text = match.group(0).replace("https://", "").replace("http://", "")
    spoken = (
        text.replace("@", " at ").replace(".", " dot ").replace("-", " dash ").replace("_", " underscore ")
    )
    return protect(re.sub(r"\d", lambda m: " " + read_digits(m.group(0)) + " ", spoken))


def _dotted_letters(match: re.Match[str]) -> str:
    """``U.S.`` → ``U S``: letters of a dotted abbreviation spoken one by one."""
    return " ".join(match.group(0).replace(".", " ").split())


def _feet_inches(match: re.Match[str]) -> str:
    feet, inches = int(match.group(1)), int(match.group(2))
    return protect(
        f"{read_cardinal(feet)} {'foot' if feet == 1 else 'feet'} {read_cardinal(inches)} "
        + ("inch" if inches == 1 else "inches")
    )


def _ratio(match: re.Match[str]) -> str:
    return protect(f"{read_number(match.group(1))} to {read_number(match.group(2))}")


def _bare_year(match: re.Match[str]) -> str:
    """A four-digit number from 1000 to 2099 ending a clause is read as a year (``in Q2 2024.``)."""
    return protect(read_year(int(match.group(1))))


def _number(match: re.Match[str]) -> str:
    return protect(read_number(match.group(0)))


NUMBER_RULES_EN: tuple[Rule, ...] = (
    (
        re.compile(
            r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[\w-]+)+|(?:https?://)?(?:www\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|net|org|edu|gov|io|ai|cn|uk)\b"
        ),
        _address,
    ),
    (re.compile(r"(\d+(?:\.\d+)?)[eE]([+-]?\d+)(?![\w])"), _scientific),
    (re.compile(r"\b[Nn]o\.\s*(?=\d)"), lambda m: "number "),
    (re.compile(r"(\b[A-Z][a-z]+ )St\.(?=\s*(?:[^A-Za-z\s]|$|[a-z]))"), lambda m: m.group(1) + "street"),
    (re.compile(r"(?<![\d.])(\d+)'\s?(\d+)(?:\"|'')"), _feet_inches),
    (re.compile(r"(?<=\d)\s?[x×]\s?(?=\d)"), lambda m: " by "),
    (re.compile(r"(?<=\d)x\b"), lambda m: " times"),
    (
        _ABBREVIATION_PATTERN,
        lambda m: ABBREVIATIONS[next(a for a in ABBREVIATIONS if a.lower() == m.group(1).lower())],
    ),
    (re.compile(r"\b(?![AaPp]\.[Mm]\.)(?:[A-Za-z]\.){2,}(?=[\s,;:!?]|$)"), _dotted_letters),
    (
        re.compile(
            r"(?P<cur>[$€£¥])\s?(?P<n>" + _NUM + r")(?:\s?(?P<scale>million|billion|trillion|thousand))?",
            re.I,
        ),
        _money,
    ),
    (
        re.compile(
            _MONTH_PATTERN
            + r"\s+(?P<day>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{4}))?(?!\d)"
        ),
        _date_month_day,
    ),
    (
        re.compile(
            r"(?P<day>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?\s+(?:of\s+)?"
            + _MONTH_PATTERN
            + r"(?:,?\s+(?P<year>\d{4}))?(?!\d)"
        ),
        _date_day_month,
    ),
    (re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<m>1[0-2]|0[1-9])-(?P<d>3[01]|[12]\d|0[1-9])(?!\d)"), _date_iso),
    (
        re.compile(
            r"(?<![\d:])(?P<h>[01]?\d|2[0-3]):(?P<min>[0-5]\d)(?:\s?(?P<ampm>[ap]\.?m\.?))?(?!\.?\d)", re.I
        ),
        _time,
    ),
    (re.compile(r"(?<![\d.:])(\d+):(\d+)(?![\d:])"), _ratio),
    (re.compile(r"(?<![\d.])(?P<h>1[0-2]|0?[1-9])\s?(?P<ampm>[ap]\.?m\.?)(?![\w])", re.I), _hour_ampm),
    (re.compile(r"(?<!\d)(?:\+?1[\s-])?\(?\d{3}\)?[\s-]\d{3}-\d{4}(?!\d)"), _phone),
    (re.compile(r"(" + _NUM + r")\s?%"), _percent),
    (re.compile(r"(?<![\d.])(\d+)(?:st|nd|rd|th)\b", re.I), _ordinal),
    (re.compile(r"(?<![\d.])(1[1-9]\d0|20\d0)'?s\b"), _decade),
    (
        re.compile(
            r"(\b(?:in|since|by|from|until|till|of|year|to|before|after|during|around|circa)\s+)(1[1-9]\d\d|20\d\d)(?!\d|[.,]\d)",
            re.I,
        ),
        _year,
    ),
    (re.compile(r"(?<![\d.,$€£¥-])(1\d{3}|20\d{2})(?=[.,;!?]?(?:\s|$))(?![.,]\d)(?=[.,;!?]|$)"), _bare_year),
    (re.compile(r"(?P<n>" + _NUM + r")(?P<u>" + _UNIT_NO_SPACE + r")(?![A-Za-z])"), _unit),
    (re.compile(r"(?P<n>" + _NUM + r") (?P<u>" + _UNIT_SPACED + r")(?![A-Za-z])"), _unit),
    (re.compile(r"(?<![\d./])(\d+)/(\d+)(?!\.?\d)"), _fraction),
    (re.compile(r"(?<![\d.])(" + _NUM + r")\s?[-−]\s?(" + _NUM + r")(?=\s*=)"), _minus),
    (re.compile(r"(?<![\d.])(" + _NUM + r")\s?[-–~]\s?(" + _NUM + r")(?!\.?\d)"), _range),
    (re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])"), lambda m: " "),
    (re.compile(r"(?<![A-Za-z0-9.])[-−]" + _NUM), _number),
    (re.compile(_NUM), _number),
)


def verbalize_en(text: str) -> str:
    """Verbalize numbers, money, dates, times, units and symbols in English."""
    for pattern, build in NUMBER_RULES_EN:
        text = pattern.sub(build, text)
    text = re.sub(r"\b([A-Z]{2,})s\b", r"\1's", text)
    return replace_symbols_en(text)


def replace_symbols_en(text: str) -> str:
    """Spell out math signs and Greek letters in English."""
    out: list[str] = []
    for index, ch in enumerate(text):
        if ch in MATH_SYMBOLS_EN and (ch in "&%±√∞" or _between_operands(text, index)):
            out.append(f" {MATH_SYMBOLS_EN[ch]} ")
        elif ch in GREEK_EN:
            out.append(f" {GREEK_EN[ch]} ")
        elif ch in "²³":
            out.append(" squared " if ch == "²" else " cubed ")
        else:
            out.append(ch)
    return "".join(out)


def _between_operands(text: str, index: int) -> bool:
    """True when the nearest non-space characters on both sides are letters, digits or spoken numbers."""
    left = text[:index].rstrip()[-1:]
    right = text[index + 1 :].lstrip()[:1]
    return _is_operand(left) and _is_operand(right)


def _is_operand(ch: str) -> bool:
    return bool(ch) and (ch.isalnum() or ch in "\ue000\ue001)²³")
