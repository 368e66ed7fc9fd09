"""Text normalization as the official GLM-TTS frontend does it (``TextFrontEnd.text_normalize``).

The order is upstream's: a leading list number, line merging, emoji removal and letter hyphens
(:func:`~glmtts.text.rules.prepare`); then, for text with a Chinese character, ``pre_replace`` (with
``custom_replace.jsonl``), WeTextProcessing's Chinese grammar, ``special_replace`` and ``post_replace``; for other
text, WeTextProcessing's English grammar and the English clean-up; finally the punctuation-run rule and the
ending rule. The grammars are WeTextProcessing 1.0.3's, run on kaldifst (:mod:`glmtts.text.grammar`); the
few deliberate differences from upstream are in :mod:`glmtts.text.overrides`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from glmtts.text import overrides
from glmtts.text.grammar import Grammar, GrammarSet
from glmtts.text.rules import (
    contains_chinese,
    english_after_grammar,
    english_before_grammar,
    ensure_ending,
    normalize_punctuation,
    prepare,
)
from glmtts.text.rules_zh import post_replace, pre_replace, special_replace

SPEAKABLE_PATTERN = re.compile(
    r"[0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u00c0-\u024f\u0370-\u03ff]"
)
CJK_PATTERN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def is_speakable(text: str) -> bool:
    """True when ``text`` has a letter, digit or Chinese character to say."""
    return SPEAKABLE_PATTERN.search(text) is not None


def has_cjk(text: str) -> bool:
    """True when ``text`` contains a CJK ideograph."""
    return CJK_PATTERN.search(text) is not None


class TextNormalizer:
    """Upstream ``text_normalize`` over loaded grammars.

    ``custom_replacements``: the ``custom_replace.jsonl`` pairs applied to Chinese text (upstream applies the
    file in its working directory; glmtts ships the official one). ``apply_overrides``: use
    :mod:`glmtts.text.overrides` (``False`` reproduces upstream's output exactly).
    """

    def __init__(
        self,
        grammars: GrammarSet,
        custom_replacements: Sequence[tuple[str, str]] = (),
        apply_overrides: bool = True,
    ) -> None:
        self._grammars = grammars
        self._custom_replacements = tuple(custom_replacements)
        self._apply_overrides = apply_overrides

    def normalize(self, text: str, chinese: bool | None = None) -> str:
        """Upstream's normalized text (lower-cased; ``"."`` for empty input, as upstream); ``chinese`` as in
        :meth:`normalize_cased`."""
        return self.normalize_cased(text, chinese).lower()

    def normalize_cased(self, text: str, chinese: bool | None = None) -> str:
        """:meth:`normalize` before the final lower-casing: every step after upstream's ``lower()`` ignores case,
        so ``normalize_cased(t).lower() == normalize(t)``; the cased form tells acronyms from words.
        ``chinese``: force the Chinese or English rules (default: upstream's switch on the text itself)."""
        text = prepare(text)
        if chinese is None:
            chinese = contains_chinese(text)
        text = self._chinese(text) if chinese else self._english(text)
        return ensure_ending(normalize_punctuation(text))

    def _chinese(self, text: str) -> str:
        if self._apply_overrides:
            text = overrides.zh_before_rules(text)
        text = pre_replace(text, self._custom_replacements)
        if self._apply_overrides:
            text = overrides.zh_before_grammar(text)
        text = self._grammar("zh").normalize(text)
        return post_replace(special_replace(text))

    def _english(self, text: str) -> str:
        grammar = self._grammar("en")
        text = english_before_grammar(text)
        if self._apply_overrides:
            text = overrides.en_before_grammar(text, grammar)
        return english_after_grammar(grammar.normalize(text))

    def _grammar(self, language: str) -> Grammar:
        grammar = self._grammars.zh if language == "zh" else self._grammars.en
        if grammar is None:
            self._grammars.load()
            grammar = self._grammars.zh if language == "zh" else self._grammars.en
        assert grammar is not None
        return grammar
