"""Verbalization rules for text that contains Chinese: numbers, dates, money, units and symbols.

Each rule is a compiled pattern and a function building the spoken form; the rules run in order over the
whole text, so earlier rules (dates, times, phone numbers) claim digits before the generic number rule.
Spoken numbers are wrapped in protection marks so that splitting never cuts inside them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from glmtts.text.marks import protect
from glmtts.text.numbers_zh import read_cardinal, read_digits, read_number, read_year
from glmtts.text.symbols import GREEK_ZH, MATH_SYMBOLS_ZH, UNITS_ZH

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_CLASSIFIERS_FOR_LIANG = "个只次天位本件条张台辆种名岁斤倍家所组项层份双对周碗杯瓶块把间元分钟小时"
_RATIO_CONTEXT = re.compile(r"(比分|比例|比数|比赛|战胜|击败|以|比)\s*$")
_UNIT_PATTERN = "|".join(sorted((re.escape(u) for u in UNITS_ZH), key=len, reverse=True))
_CURRENCY_ZH = {"¥": "元", "￥": "元", "$": "美元", "€": "欧元", "£": "英镑", "HK$": "港元", "US$": "美元"}


def _number(match_text: str) -> str:
    return protect(read_number(match_text))


def _cardinal_two_as_liang(match: re.Match[str]) -> str:
    return protect("两")


def _date_ymd(match: re.Match[str]) -> str:
    year, month, day = match.group("y"), int(match.group("m")), int(match.group("d"))
    return protect(f"{read_year(year)}年{read_cardinal(month)}月{read_cardinal(day)}日")


def _year(match: re.Match[str]) -> str:
    return protect(read_year(match.group(1))) + match.group(2)


def _year_range(match: re.Match[str]) -> str:
    return protect(f"{read_year(match.group(1))}到{read_year(match.group(2))}")


def _time(match: re.Match[str]) -> str:
    hour, minute, second = int(match.group("h")), int(match.group("min")), match.group("s")
    before = match.string[: match.start()]
    if second is None and _RATIO_CONTEXT.search(before):
        return protect(f"{read_cardinal(hour)}比{read_cardinal(minute)}")
    spoken = ("两" if hour == 2 else read_cardinal(hour)) + "点"
    if minute:
        spoken += ("零" if minute < 10 else "") + read_cardinal(minute) + "分"
    if second is not None:
        spoken += ("零" if int(second) < 10 else "") + read_cardinal(int(second)) + "秒"
    return protect(spoken)


def _ratio(match: re.Match[str]) -> str:
    return protect(f"{read_number(match.group(1))}比{read_number(match.group(2))}")


def _phone(match: re.Match[str]) -> str:
    groups = re.split(r"[\s-]+", match.group(0).strip())
    spoken = "，".join(read_digits(group, phone=True) for group in groups if group)
    return protect(spoken.replace("+", "加"))


def _mobile(match: re.Match[str]) -> str:
    prefix = match.group("cc")
    spoken = ("加" + read_digits(prefix) if prefix else "") + read_digits(match.group("n"), phone=True)
    return protect(spoken)


def _money(match: re.Match[str]) -> str:
    amount, scale = match.group("n"), match.group("scale") or ""
    return _number(amount) + scale + _CURRENCY_ZH[match.group("cur")]


def _percent(match: re.Match[str]) -> str:
    sign = "千分之" if match.group("p") == "‰" else "百分之"
    return protect(sign + read_number(match.group("n")))


def _percent_range(match: re.Match[str]) -> str:
    sign = "百分之"
    return protect(f"{sign}{read_number(match.group(1))}到{sign}{read_number(match.group(2))}")


def _temperature(match: re.Match[str]) -> str:
    value = match.group("n")
    scale = "华氏度" if match.group("u") in ("℉", "°F") else "摄氏度"
    if value.startswith(("-", "−")):
        return protect("零下" + read_number(value[1:])) + scale
    return _number(value) + scale


def _range(match: re.Match[str]) -> str:
    if _RATIO_CONTEXT.search(match.string[: match.start()]):
        return protect(f"{read_number(match.group(1))}比{read_number(match.group(2))}")
    return protect(f"{read_number(match.group(1))}到{read_number(match.group(2))}")


def _minus(match: re.Match[str]) -> str:
    return protect(f"{read_number(match.group(1))}减{read_number(match.group(2))}")


def _unit(match: re.Match[str]) -> str:
    return _number(match.group("n")) + UNITS_ZH[match.group("u")]


def _fraction(match: re.Match[str]) -> str:
    return protect(f"{read_number(match.group(2))}分之{read_number(match.group(1))}")


def _scientific(match: re.Match[str]) -> str:
    mantissa, exponent = match.group(1), match.group(2)
    return protect(f"{read_number(mantissa)}乘十的{read_number(exponent)}次方")


def _digits(match: re.Match[str]) -> str:
    return protect(read_digits(match.group(0)))


def _address(match: re.Match[str]) -> str:
    """An e-mail or web address: dots and signs spoken, digits read one by one."""
    text = match.group(0).replace("https://", "").replace("http://", "")
    spoken = text.replace("@", "艾特").replace(".", "点").replace("-", "杠").replace("_", "下划线")
    return protect(re.sub(r"\d", lambda m: read_digits(m.group(0)), spoken))


def _plain_number(match: re.Match[str]) -> str:
    return _number(match.group(0))


NUMBER_RULES: tuple[Rule, ...] = (
    (
        re.compile(
            r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[\w-]+)+|(?:https?://)?(?:www\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|cn|net|org|edu|gov|io|ai)\b"
        ),
        _address,
    ),
    (re.compile(r"(\d+(?:\.\d+)?)[eE]([+-]?\d+)(?![\w])"), _scientific),
    (re.compile(r"(?<![A-Za-z])[Nn][Oo]\.\s*(?=\d)"), lambda m: "第"),
    (re.compile(r"(?<=\d)\s*[xX×*]\s*(?=\d)"), lambda m: "乘"),
    (re.compile(r"(?<=\d)[xX](?![A-Za-z])"), lambda m: "倍"),
    (
        re.compile(
            r"(?<!\d)(?P<y>\d{4})[-/.年](?P<m>1[0-2]|0?[1-9])[-/.月](?P<d>3[01]|[12]\d|0?[1-9])(?![\d])日?"
        ),
        _date_ymd,
    ),
    (re.compile(r"(?<!\d)(\d{4})\s*[-~～到至]\s*(\d{4})(?=年|赛季|学年|财年|年度)"), _year_range),
    (re.compile(r"(?<![\d.])([0-9][05])(?=后(?![\d面来边]))"), _digits),
    (re.compile(r"(?<![\d.])(\d{4})(年)"), _year),
    (re.compile(r"(?<![\d:])(?P<h>[01]?\d|2[0-4]):(?P<min>[0-5]\d)(?::(?P<s>[0-5]\d))?(?!\.?\d)"), _time),
    (re.compile(r"(?<![\d.])(\d+):(\d+)(?!\.?\d)"), _ratio),
    (re.compile(r"(?<![\d+])(?P<cc>\+?86[\s-]?)?(?P<n>1[3-9]\d(?:[\s-]?\d{4}){2})(?![\d-])"), _mobile),
    (
        re.compile(r"(?<![\d-])\(?\d{3,4}\)?[\s-]\d{3,4}-\d{4}(?!\.?\d)|(?<![\d-])0\d{2,3}-\d{7,8}(?!\.?\d)"),
        _phone,
    ),
    (re.compile(r"(?<![\d-])(?:400|800)\d{7}(?!\d)"), _digits),
    (re.compile(r"(?P<cur>HK\$|US\$|[¥￥$€£])\s*(?P<n>" + _NUM + r")(?P<scale>[万亿]*)"), _money),
    (re.compile(r"(" + _NUM + r")%?\s*[-~～到至]\s*(" + _NUM + r")%"), _percent_range),
    (re.compile(r"(?P<n>" + _NUM + r")\s*(?P<p>[%‰])"), _percent),
    (re.compile(r"(?P<n>[-−]?" + _NUM + r")\s*(?P<u>℃|℉|°C|°F)"), _temperature),
    (re.compile(r"(?<![\d.])(" + _NUM + r")\s*[~～]\s*(" + _NUM + r")(?!\.?\d)"), _range),
    (re.compile(r"(?<![\d.])(" + _NUM + r")\s*-\s*(" + _NUM + r")(?=\s*=)"), _minus),
    (re.compile(r"(?<![\d.A-Za-z-])(" + _NUM + r")\s*-\s*(" + _NUM + r")(?!\.?\d)"), _range),
    (re.compile(r"(?<![\d.])(\d+)/(\d+)(?!\.?\d)"), _fraction),
    (re.compile(r"(?P<n>" + _NUM + r")\s?(?P<u>" + _UNIT_PATTERN + r")(?![A-Za-z])"), _unit),
    (re.compile(r"\d{3,}(?=室|房间|房)"), _digits),
    (re.compile(r"(?<=[号码电话机热线拨打账号编号单号验证码密码QqIiDd：:])\s*\d{5,}"), _digits),
    (re.compile(r"(?<![\d.,])2(?=[" + _CLASSIFIERS_FOR_LIANG + r"])"), _cardinal_two_as_liang),
    (re.compile(r"(?<![\d.,])0\d+"), _digits),
    (re.compile(r"\d{13,}"), _digits),
    (re.compile(r"(?<![A-Za-z0-9.])[-−]" + _NUM), _plain_number),
    (re.compile(_NUM), _plain_number),
)

_CIRCLED = {chr(0x2460 + i): str(i + 1) for i in range(20)}
_SUPERSCRIPTS = {"²": "平方", "³": "立方"}


def verbalize_zh(text: str) -> str:
    """Verbalize numbers, money, dates, units and symbols in Chinese."""
    text = "".join(_CIRCLED.get(ch, ch) for ch in text)
    for pattern, build in NUMBER_RULES:
        text = pattern.sub(build, text)
    return replace_symbols_zh(text)


def replace_symbols_zh(text: str) -> str:
    """Spell out math symbols, Greek letters, superscripts and the ``/`` ``&`` ``@`` signs in Chinese."""
    out: list[str] = []
    for index, ch in enumerate(text):
        if ch in _SUPERSCRIPTS:
            out.append(_SUPERSCRIPTS[ch])
        elif ch in MATH_SYMBOLS_ZH and _is_operator_position(text, index):
            out.append(MATH_SYMBOLS_ZH[ch])
        elif ch in GREEK_ZH:
            out.append(GREEK_ZH[ch])
        elif ch == "/":
            out.append("每")
        elif ch == "&":
            out.append("和")
        elif ch == "@":
            out.append("艾特")
        else:
            out.append(ch)
    return "".join(out)


def _is_operator_position(text: str, index: int) -> bool:
    """A math sign is spoken when it stands between operands (or before one, for ± and √)."""
    ch = text[index]
    after = text[index + 1 : index + 2]
    if ch in "±√∞∑∵∴∠△":
        return True
    before = text[index - 1 : index] if index else ""
    return (bool(before.strip()) and bool(after.strip())) or (ch in "≠≈≥≤∈=" and bool(after.strip()))
