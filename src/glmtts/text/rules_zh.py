"""The official GLM-TTS rules around the Chinese grammar: ``pre_replace``, ``special_replace``, ``post_replace``.

They reproduce GLM-TTS ``TextFrontEnd`` (``cosyvoice/cli/frontend.py``) and its helpers, including the readings
that come from them: a hyphen between digits is 减 (``3-5`` → 三减五), every other hyphen is dropped, a ``~``
left by the grammar is 。 and a ``/`` is 每. The few readings corrected on purpose are in
:mod:`glmtts.text.overrides`, not here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from glmtts.text.rules import PUNCTUATION_CHARS, remove_brackets, replace_asterisk

_SCIENTIFIC = re.compile(r"(.*?)(-?\d+(?:\.\d+)?)[*x×](\d+(?:\.\d+)?)\^(-?\d+(?:\.\d+)?)(.*?)$")
_DIGIT_HYPHEN = re.compile(r"(?<=\d)\s*-\s*(?=\d)")
_LO_BEFORE_MARK = re.compile("咯([" + re.escape(PUNCTUATION_CHARS) + "])")
_DIGITS_ZH = "零一二三四五六七八九"
_PLACE_UNITS = ("", "十", "百", "千", "万", "十万", "百万", "千万", "亿", "十亿", "百亿", "千亿")

_SYMBOLS_AFTER_GRAMMAR: tuple[tuple[str, str], ...] = (
    ("†", "，"), ("²", "平方"), ("³", "立方"), ("/", "每"), ("~", "到"), ("～", "到"),
    ("①", "一"), ("②", "二"), ("③", "三"), ("④", "四"), ("⑤", "五"),
    ("⑥", "六"), ("⑦", "七"), ("⑧", "八"), ("⑨", "九"), ("⑩", "十"),
    ("α", "阿尔法"), ("β", "贝塔"), ("γ", "伽玛"), ("Γ", "伽玛"), ("δ", "德尔塔"), ("Δ", "德尔塔"),
    ("△", "德尔塔"), ("ε", "艾普西龙"), ("ζ", "捷塔"), ("η", "依塔"), ("θ", "西塔"), ("Θ", "西塔"),
    ("ι", "艾欧塔"), ("κ", "喀帕"), ("λ", "拉姆达"), ("Λ", "拉姆达"), ("μ", "缪"), ("ν", "拗"),
    ("ξ", "克西"), ("Ξ", "克西"), ("ο", "欧米克伦"), ("π", "派"), ("Π", "派"), ("ρ", "肉"),
    ("ς", "西格玛"), ("Σ", "西格玛"), ("σ", "西格玛"), ("τ", "套"), ("υ", "宇普西龙"), ("φ", "服艾"),
    ("Φ", "服艾"), ("χ", "器"), ("ψ", "普赛"), ("Ψ", "普赛"), ("ω", "欧米伽"), ("Ω", "欧米伽"),
    ("□", "方框"),
    (">", "大于"), ("<", "小于"), ("∈", "属于"), ("∉", "不属于"), ("∪", "并"), ("∩", "交"),
    ("⊥", "垂直"), ("∥", "平行"), ("≠", "不等于"), ("∵", "因为"), ("∴", "所以"), ("∅", "空集"),
    ("⊂", "真包含于"), ("⊃", "包含"), ("⊆", "包含于"), ("⊇", "真包含"), ("⊄", "不属于"),
    ("⊅", "非超集"), ("⊈", "不属于"), ("⊉", "非超集"),
)  # fmt: skip


def number_to_chinese(number: str | int) -> str:
    """Upstream's own number reader (used only for scientific notation): ``"1.5"`` → 一点五, ``-2`` → 负二."""
    if isinstance(number, str):
        integer, _, decimals = str(float(number)).partition(".")
        if decimals.strip("0") == "":
            return number_to_chinese(int(integer))
        spoken = number_to_chinese(int(integer)) if int(integer) != 0 else "零"
        return spoken + "点" + "".join(_DIGITS_ZH[int(digit)] for digit in decimals)
    if number == 0:
        return "零"
    if number < 0:
        return "负" + number_to_chinese(-number)
    parts: list[str] = []
    position, zero_pending, last_unit = 0, False, ""
    while number > 0:
        digit, number = number % 10, number // 10
        unit = _PLACE_UNITS[position] if position < len(_PLACE_UNITS) else ""
        if digit == 0:
            if not zero_pending and parts and last_unit not in ("万", "亿"):
                parts.append("零")
                zero_pending = True
        else:
            if unit:
                parts.append(unit)
            parts.append(_DIGITS_ZH[digit])
            zero_pending, last_unit = False, unit
        position += 1
    text = "".join(reversed(parts))
    text = re.sub(r"^一十", "十", text)
    return re.sub(r"零$", "", re.sub(r"零+", "零", text))


def scientific_notation(text: str) -> str:
    """The first ``a×b^c`` in the text (``*``, ``x`` or ``×``) is read as a乘b的c次方."""
    match = _SCIENTIFIC.match(text)
    if match is None:
        return text
    prefix, base, multiplier, exponent, suffix = match.groups()
    try:
        spoken = (
            f"{number_to_chinese(base)}乘{number_to_chinese(multiplier)}的{number_to_chinese(exponent)}次方"
        )
    except ValueError:  # a number too long for float() formatting; upstream would fail here
        return text
    return prefix + spoken + suffix


def pre_replace(text: str, custom_replacements: Sequence[tuple[str, str]]) -> str:
    """Before the grammar: scientific notation, ``-`` between digits → 减, other ``-`` dropped, 咯 before a
    mark → 喽, then the ``custom_replace.jsonl`` pairs in file order."""
    text = scientific_notation(text)
    text = _DIGIT_HYPHEN.sub("减", text).replace("-", "")
    text = _LO_BEFORE_MARK.sub(r"喽\1", text)
    for origin, new in custom_replacements:
        text = text.replace(origin, new)
    return text


def special_replace(text: str) -> str:
    """After the grammar: backslashes go, a lone 额 is 呃, runs of ``~``/``～`` are 。, ``*`` is 乘."""
    text = f" {text.replace(chr(92), '')} "
    text = re.sub(r"(?<=\W)额(?=\W)", "呃", text)
    text = re.sub(r"[~～]+", "。", text)
    return replace_asterisk(text, chinese=True).strip()


def post_replace(text: str) -> str:
    """After :func:`special_replace`: brackets and quotes go, separators become ，, dots and … become 。,
    and symbols, circled numbers, Greek letters and math signs are read in Chinese."""
    text = remove_brackets(text, chinese=True)
    text = text.replace(" - ", "，").replace("——", "，")
    text = re.sub(r"[,:：;；、]+", "，", text)
    text = re.sub(r"[.…]+", "。", text)
    text = re.sub(r"[_·]+", "", text)
    text = re.sub(r"['\"‘’“”|]+", "", text)
    for symbol, spoken in _SYMBOLS_AFTER_GRAMMAR:
        text = text.replace(symbol, spoken)
    return text
