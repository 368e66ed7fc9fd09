"""Text normalization: what an engine reads, with every number, date and symbol spelled out.

The order follows upstream GLM-TTS ``text_normalize``: markdown list fix and line merge, emoji removal,
a Chinese or an English branch (chosen by the presence of CJK characters), punctuation normalization and
the ending rule (a final question mark is kept, any other final mark becomes 。 or ``.``, one is added if
missing). Unlike upstream the normalizer is rule-based Python: nothing is compiled at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from glmtts.text.marks import PROTECT_CLOSE, PROTECT_OPEN, protect, strip_marks
from glmtts.text.normalize_en import verbalize_en
from glmtts.text.normalize_zh import verbalize_zh

CJK_PATTERN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
EMOJI_PATTERN = re.compile(
    "[\U0001f000-\U0001faff\U0001fc00-\U0001ffff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff"
    "\ufe0e\ufe0f\u200d\u20e3\U000e0020-\U000e007f]"
)
_MARKS = PROTECT_OPEN + PROTECT_CLOSE
SPEAKABLE_PATTERN = re.compile(r"[0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff\u00c0-\u024f\u0370-\u03ff]")
_ZH_DROP = str.maketrans("", "", "()（）[]【】{}《》〈〉「」『』<>“”‘’\"'|_·\\#`^")
_ZH_TO_COMMA = re.compile(r"[,:;、，：；—–]+")
_ZH_TO_PERIOD = re.compile(r"(?:\.{2,}|…+|[.!！~～])")
_EN_UNSPEAKABLE = re.compile(r"[^\w\s.,!?':;" + _MARKS + r"]")
_SENTENCE_ENDS = "。?？!！."
_PUNCT_STRENGTH = {
    "?": 5,
    "？": 5,
    "。": 4,
    ".": 4,
    "!": 4,
    "！": 4,
    ";": 2,
    "；": 2,
    ":": 1,
    "，": 1,
    ",": 1,
}
_PUNCT_RUN = re.compile(
    r"["
    + re.escape("".join(_PUNCT_STRENGTH))
    + _MARKS
    + r"\s]*["
    + re.escape("".join(_PUNCT_STRENGTH))
    + r"]"
)
_QUOTED_NAME = re.compile(r"([《“「『])([^《》“”「」『』。，,.!?！？\n]{1,30})([》”」』])")
_RANGE_BETWEEN_NUMBERS = re.compile(f"{PROTECT_CLOSE}\\s*[-~～]\\s*{PROTECT_OPEN}")
_TILDE_BEFORE_NUMBER = re.compile(f"[~～]\\s*(?={PROTECT_OPEN})")
_SHARP = re.compile(r"\b([CcFf])#")
_ENGLISH_SPAN = re.compile(r"[A-Za-z$€£][A-Za-z0-9 ,.'$€£%:/&+-]*[A-Za-z0-9%]")
_ENGLISH_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "it",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "have",
        "has",
        "had",
        "do",
        "does",
        "did",
        "of",
        "to",
        "and",
        "or",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "by",
        "my",
        "your",
        "our",
        "this",
        "that",
        "these",
        "those",
        "will",
        "can",
        "not",
    ]
)
_LIST_ITEM = re.compile(r"^(\d{1,3})(?:[.)]\s+|、\s*)(?=\S)")


def has_cjk(text: str) -> bool:
    """True when ``text`` contains a Chinese character (upstream's language switch)."""
    return CJK_PATTERN.search(text) is not None


def is_speakable(text: str) -> bool:
    """True when ``text`` has a letter, digit or Chinese character to say."""
    return SPEAKABLE_PATTERN.search(strip_marks(text)) is not None


def lower_ascii(text: str) -> str:
    """Lower-case without changing the length (so positions still line up with the cased text)."""
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)


def full_to_half(text: str) -> str:
    """Full-width ASCII variants (Ａ１！？…) to their ASCII forms, ideographic space to a space."""
    return "".join(
        chr(ord(ch) - 0xFEE0) if 0xFF01 <= ord(ch) <= 0xFF5E else (" " if ch == "\u3000" else ch)
        for ch in text
    )


class TextNormalizer:
    """Normalizes text for TTS; ``custom_replacements`` are upstream ``custom_replace.jsonl`` pairs."""

    def __init__(self, custom_replacements: Sequence[tuple[str, str]] = ()) -> None:
        self._custom_replacements = tuple(custom_replacements)

    def normalize(self, text: str) -> str:
        """Normalized, lower-cased text (``""`` if nothing speakable is left)."""
        return lower_ascii(strip_marks(self.normalize_marked(text)))

    def normalize_marked(self, text: str) -> str:
        """Normalized text that keeps letter case and the protection marks the splitter needs."""
        zh = has_cjk(text)
        text = _SHARP.sub(r"\1 sharp", self._merge_lines(text, zh))
        text = EMOJI_PATTERN.sub("", full_to_half(text))
        text = re.sub(r"(?<=[A-Za-z])-(?=[A-Za-z])", " ", text)
        text = self._normalize_zh(text) if zh else self._normalize_en(text)
        text = normalize_punctuation(text, zh)
        if not is_speakable(text):
            return ""
        return ensure_ending(text, zh)

    def _merge_lines(self, text: str, zh: bool) -> str:
        lines = []
        for raw in text.replace("\\n", "\n").splitlines():
            line = raw.strip()
            if not line:
                continue
            line = _LIST_ITEM.sub(lambda m: m.group(1) + ("。" if zh else ". "), line)
            if line[-1] not in _SENTENCE_ENDS + "，,;；:：…":
                line += "。" if zh else "."
            lines.append(line)
        return ("" if zh else " ").join(lines)

    def _normalize_zh(self, text: str) -> str:
        for origin, new in self._custom_replacements:
            text = text.replace(origin, new)
        text = _QUOTED_NAME.sub(lambda m: m.group(1) + protect(m.group(2)) + m.group(3), text)
        text = _ENGLISH_SPAN.sub(_verbalize_english_span, text)
        text = verbalize_zh(text)
        text = _RANGE_BETWEEN_NUMBERS.sub(f"{PROTECT_CLOSE}到{PROTECT_OPEN}", text)
        text = _TILDE_BEFORE_NUMBER.sub("到", text)
        text = re.sub(r"咯(?=[，。,.!?！？]|$)", "喽", text)
        text = text.translate(_ZH_DROP)
        text = _ZH_TO_PERIOD.sub("。", text)
        text = _ZH_TO_COMMA.sub("，", text)
        text = text.replace("-", "").replace("?", "?").replace("？", "?")
        return text

    def _normalize_en(self, text: str) -> str:
        text = verbalize_en(text)
        text = re.sub(r"[()\[\]{}<>\"“”]", " ", text)
        text = text.replace("‘", "'").replace("’", "'").replace("—", ", ").replace("–", " ")
        text = re.sub(r"\.{2,}|…|!", ".", text)
        text = _EN_UNSPEAKABLE.sub(" ", text)
        return text


def _verbalize_english_span(match: re.Match[str]) -> str:
    """Inside Chinese text, an English clause (three or more words, one of them a function word such as
    "the" or "have") is read in English: "我说 I have 3 apples" says "three", "iPhone 15 Pro" says 十五."""
    span = match.group(0)
    words = re.findall(r"[A-Za-z']+", span)
    if not re.search(r"[0-9$€£%&+]", span) or len(words) < 3:
        return span
    if not any(word.lower() in _ENGLISH_FUNCTION_WORDS for word in words):
        return span
    return verbalize_en(span)


def normalize_punctuation(text: str, zh: bool) -> str:
    """Collapse runs of punctuation to the strongest mark, keep spaces only where they separate words."""
    text = _PUNCT_RUN.sub(_strongest_mark, text)
    text = re.sub(r"\s+", lambda m: _space_or_nothing(text, m.start(), m.end(), zh), text)
    if not zh:
        text = re.sub(r"([.,!?;:])(?=[" + re.escape(_MARKS) + r"]*\w)", r"\1 ", text)
    return re.sub(r"^[\s" + re.escape(_MARKS) + r"]*[，。,.!?;:？！]+\s*", "", text.strip())


def _space_or_nothing(text: str, start: int, end: int, zh: bool) -> str:
    """A whitespace run stays one space between two words (marks are transparent), else it goes."""
    before = start - 1
    while before >= 0 and text[before] in _MARKS:
        before -= 1
    after = end
    while after < len(text) and text[after] in _MARKS:
        after += 1
    left = text[before] if before >= 0 else ""
    right = text[after] if after < len(text) else ""
    if zh:
        keep = _is_latin_word_char(left) and _is_latin_word_char(right)
    else:
        keep = bool(left) and bool(right) and right not in ".,!?;:"
    return " " if keep else ""


def _is_latin_word_char(ch: str) -> bool:
    return bool(ch) and (ch.isascii() and (ch.isalnum() or ch == "'"))


def _strongest_mark(match: re.Match[str]) -> str:
    run = match.group(0)
    marks = "".join(ch for ch in run if ch in _MARKS)
    best = max((ch for ch in run if ch in _PUNCT_STRENGTH), key=lambda ch: _PUNCT_STRENGTH[ch])
    if best in "!！":
        best = "."
    lead = run[: len(run) - len(run.lstrip())]
    return marks + best if not lead else lead.strip(" \t\n") + marks + best


def ensure_ending(text: str, zh: bool) -> str:
    """Keep a final question mark, turn any other final mark into 。 / ``.``, add one when missing."""
    body = text.rstrip()
    trailing = ""
    while body and body[-1] in _MARKS:
        trailing = body[-1] + trailing
        body = body[:-1]
    period = "。" if zh else "."
    if body.endswith(("?", "？")):
        end = body[-1]
        body = body[:-1]
    else:
        end = period
        body = body.rstrip("，。,.!！;；:：、 ")
    return body + trailing + end
