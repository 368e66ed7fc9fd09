"""The official GLM-TTS wrapper rules around the grammars, shared by both languages and the English branch.

These reproduce ``cosyvoice/utils/frontend_utils.py`` and the English half of ``TextFrontEnd`` (GLM-TTS
``cosyvoice/cli/frontend.py``): line merging, emoji removal, brackets, ``*``, spacing, the punctuation-run rule
(the last mark of a run wins, then ！→。 and !→.) and the ending rule. The Chinese-only rules are in
:mod:`glmtts.text.rules_zh`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import groupby
from typing import Any

PUNCTUATION_CHARS = "。？！；：、.?!;:，,"
_LINE_ENDS = frozenset(".!?;:：。！？；，")
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
_LIST_NUMBER = re.compile(r"^(\d+)\. ")
_LETTER_HYPHEN = re.compile(r"(?<=[a-zA-Z])-(?=[a-zA-Z])")
_PUNCT_CLASS = "[" + re.escape(PUNCTUATION_CHARS) + "]"
_REPEATED_MARK = re.compile(f"({_PUNCT_CLASS})\\1+")
_MARK_BEFORE_MARK = re.compile(f"{_PUNCT_CLASS}(?={_PUNCT_CLASS})")
_ALNUM = re.compile(r"[a-zA-Z0-9]")
_SPACED_MARKS = frozenset(".,!?;:")
_BRACKETS = "()（）【】「」``《》『』{}[]"
_ZH_QUOTES = "‘’"
# Characters that may belong to an emoji (a superset of the emoji package's data, tested): text without
# them skips importing that package, which costs about half a second.
EMOJI_CANDIDATE = re.compile(
    "[\u00a9\u00ae\u203c\u2049\u20e3\u2122\u2139\u2194-\u21ff\u2300-\u23ff\u24c2\u25a0-\u25ff"
    "\u2600-\u27bf\u2900-\u297f\u2b00-\u2bff\u3030\u303d\u3297\u3299\ufe0f\U0001f000-\U0001ffff"
    "\U000e0000-\U000e007f]"
)


def contains_chinese(text: str) -> bool:
    """Upstream's language switch: a character in U+4E00–U+9FFF selects the Chinese rules."""
    return _CHINESE.search(text) is not None


def prepare(text: str) -> str:
    """Upstream ``_preprocess_text``: a leading ``1. `` list number, literal ``\\n``, lines merged with an
    ending mark each, emoji removed, a hyphen between letters read as a space."""
    text = _LIST_NUMBER.sub(r"\1。", text).replace("\\n", "\n")
    text = merge_lines(text)
    if EMOJI_CANDIDATE.search(text):
        text = _emoji_module().replace_emoji(text, replace="")
    return _LETTER_HYPHEN.sub(" ", text)


def merge_lines(text: str) -> str:
    """Drop empty lines, end each line with a mark (``。`` for Chinese, ``. `` otherwise) and join them."""
    lines = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if line[-1] not in _LINE_ENDS:
            line = line.rstrip() + "。" if contains_chinese(line) else line + ". "
        lines.append(line)
    return "".join(lines) if contains_chinese("".join(lines)) else " ".join(lines)


@lru_cache(maxsize=1)
def _emoji_module() -> Any:
    import emoji

    return emoji


def remove_brackets(text: str, chinese: bool) -> str:
    """Remove bracket characters (and ‘’ in Chinese text)."""
    return text.translate(str.maketrans("", "", _BRACKETS + (_ZH_QUOTES if chinese else "")))


def replace_asterisk(text: str, chinese: bool) -> str:
    """``*`` between numbers or letters (or a bracket next to one) is read as 乘 / multiply; others go."""
    numbers, word = ("一二三四五六七八九十百千万亿", "乘") if chinese else ("0-9", "multiply")
    operand = f"[{numbers}a-zA-Z]"
    pattern = (
        rf"(?<={operand})\s*\*\s*(?={operand})|(?<={operand}\))\s*\*\s*(?={operand})"
        rf"|(?<={operand})\s*\*\s*(?=\({operand})|(?<={operand}\))\s*\*\s*(?=\({operand})"
    )
    return re.sub(pattern, word, text).replace("*", "")


def keep_word_spaces(text: str) -> str:
    """Upstream ``replace_space``: a space stays only between two ASCII letters/digits, or after ``.,!?;:``
    before one."""
    text = re.sub(r" +", " ", text)
    out = []
    for index, char in enumerate(text):
        if char != " ":
            out.append(char)
            continue
        before = text[index - 1] if index else ""
        after = text[index + 1] if index + 1 < len(text) else ""
        if _ALNUM.match(after) and (_ALNUM.match(before) or before in _SPACED_MARKS):
            out.append(" ")
    return "".join(out)


def normalize_punctuation(text: str) -> str:
    """Spaces as :func:`keep_word_spaces`; a run of marks keeps its last mark; ``#`` goes; ！→。, !→."""
    text = keep_word_spaces(text)
    text = _REPEATED_MARK.sub(r"\1", text)
    text = _MARK_BEFORE_MARK.sub("", text)
    return text.replace("#", "").replace("！", "。").replace("!", ".")


def ensure_ending(text: str) -> str:
    """A final ? or ？ stays; another final mark becomes 。 (Chinese) or . ; a missing one is added."""
    if text and text[-1] in "？?":
        return text
    period = "。" if contains_chinese(text) else "."
    if text and text[-1] in PUNCTUATION_CHARS:
        return text[:-1] + period
    return text + period


def english_before_grammar(text: str) -> str:
    """Apostrophes become ’ before the English grammar (upstream)."""
    return text.replace("'", "’")


def english_after_grammar(text: str) -> str:
    """Upstream's English clean-up after the grammar, without the final lower-casing (the caller does it):
    brackets, ``*``, dashes, left-over digits spelled by inflect, symbols other than ``.,!?':;`` dropped,
    runs of one mark collapsed, one space after each mark."""
    text = remove_brackets(text, chinese=False)
    text = replace_asterisk(text, chinese=False)
    text = text.replace("—", " ").replace("’", "'")
    text = spell_out_digits(text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"[^\w\s.,!?':;]", "", text)
    for mark in ".,!?':;":
        text = re.sub(re.escape(mark) + "+", mark, text)
    return re.sub(r"\s*([.,?!':;])\s*", r"\1 ", text).strip()


def spell_out_digits(text: str) -> str:
    """Each run of digits the grammar left is read by inflect (``number_to_words``)."""
    if not any(char.isdigit() for char in text):
        return text
    engine = _inflect_engine()
    parts = []
    for is_digit, run in groupby(text, key=str.isdigit):
        chunk = "".join(run)
        parts.append(str(engine.number_to_words(chunk)) if is_digit else chunk)
    return "".join(parts)


@lru_cache(maxsize=1)
def _inflect_engine() -> Any:
    import inflect

    return inflect.engine()
