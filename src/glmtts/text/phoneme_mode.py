"""Phoneme mode (``--phoneme``): the official GLM-TTS rule for the hybrid text+phoneme input of the ``glm`` LLM.

Upstream ``TextFrontEnd.g2p_infer`` (``cosyvoice/cli/frontend.py``, ``utils/glm_g2p.py``):

1. the pronunciation dictionary (``G2P_replace_dict.jsonl``) first: the longest key at each position is
   replaced by its value, which is kept as it is;
2. the rest is cut into runs of Chinese characters and other text; other text is kept;
3. a Chinese run is segmented by ``jieba.posseg`` (jieba's full dictionary) and each word read by pypinyin
   (initials and ``FINALS_TONE3`` finals, strict, neutral tone 5; -i after zh/ch/sh/r is ``iii``, after z/c/s
   ``ii``);
4. every character that is *not* in ``G2P_able_1word.json`` (the 3,372 characters the model reads well as
   text) is written as its phoneme tokens (``行`` → ``<|H|><|ANG2|>``); the others stay characters.

pypinyin's readings depend on its version: the official pin is 0.44.0; glmtts takes any pypinyin ≥ 0.51.
Measured on the 224 reference pieces, 0.55.0 reads 4 differently from 0.44.0, each a correction (行长 háng
zhǎng, 赢得 yíng dé); see the README. jieba's full dictionary, posseg and pypinyin take about 2.5 s of CPU to
load, so this loads on first use (or in the background from :meth:`~glmtts.text.TextFrontend.load` with
``FrontendConfig(preload_phoneme=True)``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from glmtts.text.dictionary import PronunciationDictionary

_LOGGER = logging.getLogger(__name__)

_SYLLABLE_END = "-"
_PINYIN_MARKS = "，。；：！？、"
_FORMAT_KEEP = "。？！；：、.?!;:，,"
_RETROFLEX = frozenset(("zh", "ch", "sh", "r"))
_DENTAL = frozenset(("z", "c", "s"))
_CHINESE_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF), (0x2CEB0, 0x2EBEF), (0x30000, 0x3134F), (0x31350, 0x323AF), (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F), (0x2E80, 0x2EFF),
)  # fmt: skip


def is_chinese(char: str) -> bool:
    """Upstream ``glm_g2p.is_chinese``: CJK ideographs of every block, compatibility ideographs and radicals."""
    code = ord(char)
    return any(low <= code <= high for low, high in _CHINESE_RANGES)


def load_able_characters() -> frozenset[str]:
    """The packaged official ``G2P_able_1word.json``: characters kept as text in phoneme mode."""
    text = resources.files("glmtts.data").joinpath("G2P_able_1word.json").read_text(encoding="utf-8")
    return frozenset(json.loads(text))


class PhonemeModeG2P:
    """Upstream ``g2p_infer``; :meth:`convert` loads jieba-posseg and pypinyin on first use."""

    def __init__(self, cache_dir: Path) -> None:
        self._cache_dir = cache_dir
        self._lock = threading.Lock()
        self._able: frozenset[str] = frozenset()
        self._posseg: Any = None
        self._pinyin: Any = None
        self._styles: tuple[Any, Any] = (None, None)

    @property
    def loaded(self) -> bool:
        return self._posseg is not None

    def load(self) -> None:
        """Import jieba's posseg and pypinyin and load jieba's full dictionary (cached in ``cache_dir``)."""
        with self._lock:
            if self._posseg is not None:
                return
            from glmtts.text.g2p import import_jieba

            jieba = import_jieba()
            import jieba.posseg as posseg
            from pypinyin import Style, pinyin

            tokenizer = jieba.Tokenizer()
            tokenizer.tmp_dir = str(self._cache_dir)
            tokenizer.initialize()
            self._able = load_able_characters()
            self._pinyin, self._styles = pinyin, (Style.INITIALS, Style.FINALS_TONE3)
            self._posseg = _pos_tokenizer(posseg, tokenizer)

    def convert(self, text: str, dictionary: PronunciationDictionary) -> str:
        """Phoneme-mode text of one normalized piece."""
        if not self.loaded:
            self.load()
        parts: list[str] = []
        for fragment, replaced in dictionary_fragments(text, dictionary):
            if replaced:
                parts.append(fragment)
                continue
            for run, chinese in chinese_runs(fragment):
                parts.append(self._chinese_run(run) if chinese else run)
        return "".join(parts)

    def _chinese_run(self, run: str) -> str:
        try:
            phones = self._phones(run)
        except IndexError:  # a syllable with neither initial nor final; upstream keeps the run as text
            _LOGGER.debug("no phonemes for %r; kept as text", run)
            return run
        return align_phonemes(run, phones, self._able)

    def _phones(self, run: str) -> list[str]:
        """Upstream ``process_one``: ``[initial, final, "-", final, "-", ...]`` for a run of Chinese."""
        text = run.strip().replace("嗯", "恩").replace("呣", "母")
        phones: list[str] = []
        for word in self._posseg.lcut(text):
            initials = [item[0] for item in self._read(word.word, self._styles[0])]
            finals = [item[0] for item in self._read(word.word, self._styles[1])]
            for initial, final in zip(initials, finals, strict=False):
                spelled = initial + final
                if all(char in _PINYIN_MARKS for char in spelled):
                    if phones and phones[-1] == _SYLLABLE_END:
                        phones.pop()
                    phones.append(spelled[0])
                    continue
                phones.extend([*([initial] if initial else []), _strict_final(initial, final), _SYLLABLE_END])
        return _strip_syllable_ends([phone for phone in _strip_syllable_ends(phones) if phone])

    def _read(self, word: str, style: Any) -> list[list[str]]:
        return list(self._pinyin(word, style=style, strict=True, neutral_tone_with_five=True))


def _pos_tokenizer(posseg: Any, tokenizer: Any) -> Any:
    """A ``jieba.posseg.POSTokenizer`` over ``tokenizer`` sharing posseg's word-tag table, which
    ``POSTokenizer()`` would fill by reading jieba's whole dictionary again (both come from that file)."""
    instance = posseg.POSTokenizer.__new__(posseg.POSTokenizer)
    instance.tokenizer = tokenizer
    instance.word_tag_tab = posseg.dt.word_tag_tab
    return instance


def _strip_syllable_ends(phones: list[str]) -> list[str]:
    while phones and phones[-1] == _SYLLABLE_END:
        phones.pop()
    return phones


def _strict_final(initial: str, final: str) -> str:
    if final.startswith("i") and initial in _RETROFLEX:
        return "iii" + final[1:]
    if final.startswith("i") and initial in _DENTAL:
        return "ii" + final[1:]
    return final


def dictionary_fragments(text: str, dictionary: PronunciationDictionary) -> Iterator[tuple[str, bool]]:
    """``(replacement, True)`` for each dictionary match (longest key first), ``(text, False)`` between."""
    start = position = 0
    while position < len(text):
        match = dictionary.longest_match(text, position) if len(dictionary) else None
        if match is None:
            position += 1
            continue
        if start < position:
            yield text[start:position], False
        yield match[1], True
        position += len(match[0])
        start = position
    if start < len(text):
        yield text[start:], False


def chinese_runs(text: str) -> Iterator[tuple[str, bool]]:
    """Maximal runs of Chinese (:func:`is_chinese`) and of other characters, in order."""
    for match in re.finditer(r"(.)\1*", "".join("z" if is_chinese(char) else "o" for char in text)):
        yield text[match.start() : match.end()], match.group(1) == "z"


def align_phonemes(run: str, phones: list[str], able: frozenset[str]) -> str:
    """Upstream ``_align_and_replace``: walk the characters, taking each one's phones up to the next ``-``;
    a character outside ``able`` is written as its tokens (when it has any)."""
    parts: list[str] = []
    index = 0
    for char in run:
        if char in _FORMAT_KEEP:
            parts.append(char)
            if index < len(phones) and phones[index] in _FORMAT_KEEP:
                index += 1
            continue
        own: list[str] = []
        while index < len(phones):
            phone = phones[index]
            if phone == _SYLLABLE_END:
                index += 1
                break
            if phone in _FORMAT_KEEP:
                break
            own.append(phone)
            index += 1
        parts.append(format_phones(own) if char not in able and own else char)
    return "".join(parts)


def format_phones(phones: list[str]) -> str:
    """``["h", "ang2"]`` → ``<|H|><|ANG2|>`` (upstream ``_format_phonemes``)."""
    out = []
    for phone in phones:
        phone = phone.strip()
        if not phone or phone == "|":
            continue
        upper = phone.upper().replace("-", " ")
        out.append(upper if upper in _FORMAT_KEEP else f"<|{upper}|>")
    return "".join(out)
