"""Mandarin grapheme-to-pinyin: jieba words, pypinyin phrase readings, and polyphone context rules.

Readings come in three layers. A word listed in the packaged ``zh_phrases.tsv`` takes its reading from
there (fixes for phrases pypinyin reads wrong, e.g. 还款 huán). Otherwise the word is read with pypinyin's
phrase and character data (through :class:`~glmtts.text.lexicon.PinyinLexicon`). A polyphonic character
that no phrase covers (a one-character word, or a word pypinyin does not know, like 很长) is read by the
context rules below (长 cháng unless 长大/长高…, 还 huán before 钱/书/款…, 得/地/着 as particles).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from glmtts.text.lexicon import PinyinLexicon

_LOGGER = logging.getLogger(__name__)

JIEBA_MIN_FREQUENCY = 100
_MAX_PHRASE_CHARS = 8
_NUMERALS = "零一二三四五六七八九十两几百千万亿半每"


@dataclass(frozen=True)
class ContextRule:
    """Read ``reading`` when the text before matches ``before`` and the text after matches ``after``."""

    reading: str
    before: re.Pattern[str] | None = None
    after: re.Pattern[str] | None = None

    def applies(self, before: str, after: str) -> bool:
        return (self.before is None or self.before.search(before) is not None) and (
            self.after is None or self.after.match(after) is not None
        )


def _rule(reading: str, before: str | None = None, after: str | None = None) -> ContextRule:
    return ContextRule(reading, re.compile(before) if before else None, re.compile(after) if after else None)


# Readings of a polyphone that no phrase covers: the first rule that applies wins, else the default.
CONTEXT_RULES: dict[str, tuple[tuple[ContextRule, ...], str]] = {
    "长": ((_rule("zhang3", after=r"[大高胖出成个肉势得膘]"),), "chang2"),
    "还": ((_rule("huan2", after=r"[钱书款债贷清给原手嘴礼账]"),), "hai2"),
    "行": (
        (_rule("hang2", before=r"(?:[这那哪一每各同本外内转改跨入懂]|一行)$", after=r"(?![人走动])"),),
        "xing2",
    ),
    "得": (
        (
            _rule("de2", after=r"[到出以知罪奖分失胜逞益]"),
            _rule("de2", before=r"(?:^|[他她我你它们谁也又都])$", after="了"),
            _rule("dei3", before=r"(?:[就还也总都]|[你我他她它]们?)$"),
        ),
        "de5",
    ),
    "地": ((_rule("di4", before=r"(?:[块片这那此该种在的土草荒空耕田大天外本各]|^)$"),), "de5"),
    "着": ((_rule("zhao2", after=r"了?[急火凉迷慌]"), _rule("zhao2", before=r"[睡找猜]$")), "zhe5"),
    "重": ((_rule("chong2", after=r"[新复来叠建返逢演申]"),), "zhong4"),
    "为": ((_rule("wei2", before=r"[成作认称视以约改变分化沦选评]$"),), "wei4"),
    "只": ((_rule("zhi1", before=f"[{_NUMERALS}]$"),), "zhi3"),
    "干": ((_rule("gan1", before=r"[很太真好较挺]$"),), "gan4"),
    "数": ((_rule("shu3", after=r"一数|[不清过着了]"),), "shu4"),
    "种": ((_rule("zhong4", after=r"[树花菜地田草庄]"),), "zhong3"),
    "似": ((), "si4"),
    "处": ((_rule("chu3", after=r"[理置罚分事]"),), "chu4"),
    "调": ((_rule("tiao2", after=r"[整节和皮剂]"),), "diao4"),
    "好": ((_rule("hao4", after=r"[奇客学强胜动色]"),), "hao3"),
    "乐": ((_rule("yue4", after=r"[器曲队团谱章]"),), "le4"),
    "曲": ((_rule("qu3", after=r"[子目谱]"),), "qu1"),
    "差": ((_rule("chai1", after=r"[事遣役使]"),), "cha4"),
    "看": ((_rule("kan1", after=r"[守护门家管]"),), "kan4"),
    "晃": ((_rule("huang4", before=r"[摇摆]$"),), "huang3"),
}


class MandarinG2P:
    """Reads Chinese text as words with numbered-tone pinyin. Build, then :meth:`load` once."""

    def __init__(self, cache_dir: Path) -> None:
        self._cache_dir = cache_dir
        self._tokenizer: Any = None
        self._lexicon = PinyinLexicon(chars={}, phrases={})
        self._phrases: dict[str, tuple[str, ...]] = {}

    @property
    def loaded(self) -> bool:
        return self._tokenizer is not None

    def load(self) -> None:
        """Load the pinyin lexicon and jieba; the first run builds both caches in ``cache_dir``."""
        if self.loaded:
            return
        self._cache_dir = _writable(self._cache_dir)
        self._lexicon = PinyinLexicon.load(self._cache_dir)
        self._phrases = _load_phrase_table()
        self._tokenizer = _build_jieba(self._cache_dir, self._phrases)

    def words(self, text: str) -> list[str]:
        """Segment a run of Chinese characters into words."""
        self.load()
        return [word for word in self._tokenizer.cut(text, HMM=True) if word]

    def read(self, run: str, before: str = "", after: str = "") -> tuple[str, ...]:
        """Pinyin of a run of Chinese characters, one syllable per character, read word by word."""
        syllables: list[str] = []
        position = 0
        for word in self.words(run):
            syllables.extend(
                self.read_word(word, before + run[:position], run[position + len(word) :] + after)
            )
            position += len(word)
        return tuple(syllables)

    def read_word(self, word: str, before: str = "", after: str = "") -> tuple[str, ...]:
        """Pinyin of one word, one syllable per character.

        Inside the word, phrases are matched longest first from the left (the packaged phrase table before
        pypinyin's phrase dictionary); a character no phrase covers is read by its context rule or by
        pypinyin's default. ``before``/``after`` is the text around the word, seen by the context rules.
        """
        self.load()
        syllables: list[str] = []
        position = 0
        while position < len(word):
            phrase = self._longest_phrase(word, position)
            if phrase:
                syllables.extend(self._phrases.get(phrase) or self._lexicon.phrases[phrase])
                position += len(phrase)
                continue
            context_before = before + word[:position]
            syllables.append(self._read_char(word[position], context_before, word[position + 1 :] + after))
            position += 1
        return tuple(_lexical(word, syllables))

    def _longest_phrase(self, run: str, start: int) -> str:
        for length in range(min(_MAX_PHRASE_CHARS, len(run) - start), 1, -1):
            piece = run[start : start + length]
            if piece in self._phrases or piece in self._lexicon.phrases:
                return piece
        return ""

    def _read_char(self, char: str, before: str, after: str) -> str:
        if char in CONTEXT_RULES:
            rules, default = CONTEXT_RULES[char]
            return next((rule.reading for rule in rules if rule.applies(before, after)), default)
        return self._lexicon.chars.get(char, "")


def _lexical(word: str, syllables: list[str]) -> list[str]:
    """Undo the tone changes of 一 and 不 that some pypinyin phrases carry: the pinyin here is lexical
    (see :mod:`glmtts.text.sandhi` for spoken tones)."""
    for index, char in enumerate(word):
        if char == "一" and syllables[index] in ("yi2", "yi4"):
            syllables[index] = "yi1"
        elif char == "不" and syllables[index] == "bu2":
            syllables[index] = "bu4"
    return syllables


def _load_phrase_table() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    text = resources.files("glmtts.data").joinpath("zh_phrases.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, _, reading = line.partition("\t")
        syllables = tuple(reading.split())
        if len(syllables) != len(word):
            raise ValueError(
                f"zh_phrases.tsv: {word!r} has {len(word)} characters but {len(syllables)} syllables"
            )
        table[word] = syllables
    return table


def _writable(cache_dir: Path) -> Path:
    """``cache_dir``, or a per-user temporary directory when it cannot be created or written."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        if os.access(cache_dir, os.W_OK):
            return cache_dir
    except OSError as exc:
        _LOGGER.debug("cache directory %s unusable: %s", cache_dir, exc)
    fallback = (
        Path(tempfile.gettempdir()) / f"glmtts-text-cache-{os.getuid() if hasattr(os, 'getuid') else 0}"
    )
    _LOGGER.warning("cache directory %s is not writable; using %s", cache_dir, fallback)
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def import_jieba() -> Any:
    """Import jieba without ``pkg_resources`` (deprecated; importing it costs ~0.4 s of start-up).

    jieba only uses it to locate its bundled files and falls back to plain paths when it is missing, so it
    is hidden for the duration of the import unless something already imported it.
    """
    hide = "pkg_resources" not in sys.modules
    if hide:
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import jieba
    finally:
        if hide:
            del sys.modules["pkg_resources"]
    jieba.setLogLevel(logging.WARNING)
    return jieba


def _build_jieba(cache_dir: Path, extra_words: dict[str, tuple[str, ...]]) -> Any:
    """A jieba tokenizer over jieba's dictionary without its rarest words (loads in a fraction of the time)."""
    jieba = import_jieba()
    source = Path(jieba.__file__).with_name("dict.txt")
    fingerprint = hashlib.sha1("\n".join(sorted(extra_words)).encode("utf-8"))
    fingerprint.update(f"{source.stat().st_size}:{source.stat().st_mtime_ns}".encode())
    dictionary = cache_dir / f"jieba_dict_min{JIEBA_MIN_FREQUENCY}_{fingerprint.hexdigest()[:10]}.txt"
    if not dictionary.exists():
        _LOGGER.info("building the trimmed jieba dictionary in %s", dictionary)
        kept: list[str] = []
        for line in source.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) >= 2 and (int(parts[1]) >= JIEBA_MIN_FREQUENCY or len(parts[0]) == 1):
                kept.append(f"{parts[0]} {parts[1]}")
        kept.extend(f"{word} {JIEBA_MIN_FREQUENCY * 10}" for word in extra_words if len(word) > 1)
        temporary = dictionary.with_name(dictionary.name + ".tmp")
        temporary.write_text("\n".join(kept) + "\n", encoding="utf-8")
        temporary.replace(dictionary)
    tokenizer = jieba.Tokenizer(str(dictionary))
    tokenizer.tmp_dir = str(cache_dir)
    tokenizer.initialize()
    return tokenizer
