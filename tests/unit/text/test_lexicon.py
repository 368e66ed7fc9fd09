"""The cached pinyin lexicon reads exactly as pypinyin does, without pypinyin's start-up cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmtts.text.lexicon import PinyinLexicon, to_numbered


@pytest.mark.parametrize(
    ("marked", "numbered"),
    [
        ("zhòng", "zhong4"),
        ("lǜ", "lv4"),
        ("nǚ", "nv3"),
        ("lüè", "lve4"),
        ("de", "de5"),
        ("ń", "n2"),
        ("yī", "yi1"),
    ],
)
def test_tone_marks_to_numbers(marked: str, numbered: str) -> None:
    assert to_numbered(marked) == numbered


def test_lexicon_matches_pypinyin(text_cache_dir: Path) -> None:
    from pypinyin import Style, lazy_pinyin

    lexicon = PinyinLexicon.load(text_cache_dir)
    assert len(lexicon.chars) > 20000 and len(lexicon.phrases) > 40000
    phrases = sorted(lexicon.phrases)[::97]
    chars = sorted(c for c in lexicon.chars if "\u4e00" <= c <= "\u9fff")[::23]
    for phrase in phrases:
        expected = lazy_pinyin(phrase, style=Style.TONE3, neutral_tone_with_five=True)
        assert list(lexicon.phrases[phrase]) == expected, phrase
    for char in chars:
        assert [lexicon.chars[char]] == lazy_pinyin(char, style=Style.TONE3, neutral_tone_with_five=True), (
            char
        )


def test_lexicon_cache_is_reused(text_cache_dir: Path) -> None:
    first = PinyinLexicon.load(text_cache_dir)
    caches = list(text_cache_dir.glob("pinyin_lexicon_*.marshal"))
    assert len(caches) == 1
    assert PinyinLexicon.load(text_cache_dir) == first
