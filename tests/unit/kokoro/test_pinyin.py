"""Numbered pinyin → Kokoro Mandarin IPA."""

from __future__ import annotations

import pytest

from glmtts.engines.kokoro.pinyin import pinyin_to_ipa, word_to_ipa
from glmtts.errors import UnknownPhonemeError


@pytest.mark.parametrize(
    ("syllable", "ipa"),
    [
        ("chong2", "ꭧʰʊ↗ŋ"),
        ("zhong4", "ꭧʊ↘ŋ"),
        ("jin1", "ʨi→n"),
        ("tian1", "tʰjɛ→n"),
        ("qu4", "ʨʰy↘"),
        ("xue2", "ɕɥe↗"),
        ("yuan2", "ɥɛ↗n"),
        ("lv4", "ly↘"),
        ("nve4", "nɥe↘"),
        ("shi4", "ʂɨ↘"),
        ("zi3", "ʦɨ↓"),
        ("ri4", "ɻɨ↘"),
        ("wo3", "wo↓"),
        ("you3", "jou↓"),
        ("liu2", "ljou↗"),
        ("gui4", "kwei↘"),
        ("lun2", "lwə↗n"),
        ("bo1", "pwo→"),
        ("er2", "ɚ↗"),
        ("de5", "tɤ"),
        ("ma", "ma"),
        ("ng2", "ŋ↗"),
        ("huar1", "xwa→ɻ"),
    ],
)
def test_syllables(syllable: str, ipa: str) -> None:
    assert pinyin_to_ipa(syllable) == ipa


def test_word_joins_syllables() -> None:
    assert word_to_ipa(("chong2", "xin1")) == "ꭧʰʊ↗ŋɕi→n"


def test_every_symbol_is_in_kokoro_vocabulary() -> None:
    from glmtts.engines.kokoro.assets import load_vocab

    vocab = load_vocab()
    samples = ["zhuang4", "chuai4", "shuang3", "qiong2", "jiong3", "kuo4", "sui2", "nü3", "hm5", "o1", "ei4"]
    for syllable in samples:
        assert set(pinyin_to_ipa(syllable)) <= set(vocab), syllable


@pytest.mark.parametrize("bad", ["", "chong9", "xyz3", "python", "12"])
def test_not_pinyin_raises(bad: str) -> None:
    with pytest.raises(UnknownPhonemeError):
        pinyin_to_ipa(bad)
