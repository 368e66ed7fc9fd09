"""Phoneme mode as upstream: dictionary first, then phoneme tokens for every character outside
G2P_able_1word.json. Expected strings are the official frontend's output (tests/data/text_frontend)."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmtts.text import FrontendConfig, TextFrontend
from glmtts.text.phoneme_mode import align_phonemes, chinese_runs, is_chinese, load_able_characters
from glmtts.text.phonemes import TOKEN_PATTERN

OFFICIAL = [
    ("我早上七点起床，先喝一杯温水再出门。", "我早上七点起床，先<|H|><|E1|>一杯温水再出门。"),
    ("弦乐队演奏了一首曲子。", "<|X|><|IAN2|><|VE4|>队演奏<|L|><|E5|>一首<|Q|><|V3|>子。"),
    ("龘是一个很少见的字。", "<|D|><|A2|>是一个很<|SH|><|AO3|>见的字。"),
    ("我用Python写代码。", "我用python写代码。"),
    ("他说服了我，我们一起乘风破浪。", "他说服<|L|><|E5|>我，我们一起乘风破浪。"),
]


@pytest.mark.parametrize(("raw", "expected"), OFFICIAL)
def test_phoneme_text_is_upstreams(frontend: TextFrontend, raw: str, expected: str) -> None:
    assert [segment.phonemes for segment in frontend.analyze(raw, phoneme=True).segments] == [expected]


def test_characters_in_the_able_list_stay_text_and_the_others_become_tokens(frontend: TextFrontend) -> None:
    able = load_able_characters()
    assert len(able) == 3372 and "我" in able and "喝" not in able and "行" not in able
    text = "银行行长喝了一杯咖啡，觉得味道还行，于是又点了一份甜品。"
    phonemes = frontend.analyze(text, phoneme=True).segments[0].phonemes
    assert phonemes is not None
    kept = [char for char in TOKEN_PATTERN.sub("", phonemes) if is_chinese(char)]
    assert kept and all(char in able for char in kept)
    converted = [char for char in text if is_chinese(char) and char not in able]
    assert converted and len(kept) + len(converted) == sum(is_chinese(char) for char in text)


def test_the_extra_dictionary_is_off_by_default_and_wins_when_on(text_cache_dir: Path) -> None:
    front = TextFrontend(FrontendConfig(cache_dir=text_cache_dir, extra_dictionary=True))
    front.load()
    phonemes = front.analyze("他说服了我，我们一起乘风破浪。", phoneme=True).segments[0].phonemes
    assert phonemes == "他<|SH|><|UO1|><|F|><|U2|><|L|><|E5|>我，我们一起<|CH|><|ENG2|>风破浪。"
    assert "乘风破浪" in front.dictionary and "弦" in front.dictionary


def test_official_dictionary_is_the_packaged_default(frontend: TextFrontend) -> None:
    assert frontend.dictionary.entries == {
        "弦": "<|X|><|IAN2|>",
        "弈": "<|I4|>",
        "乡音无改鬓毛衰": "乡音无改鬓毛<|C|><|UEI1|>",
    }


def test_dictionary_is_applied_first(frontend: TextFrontend) -> None:
    result = frontend.analyze("银行很重要。", phoneme=True, extra_entries=[("银行", "yin2 hang2")])
    assert result.segments[0].phonemes == "<|IN2|><|H|><|ANG2|>很<|ZH|><|ONG4|><|IAO4|>。"
    assert (
        frontend.analyze("银行很重要。", phoneme=True).segments[0].phonemes
        == "银<|H|><|ANG2|>很<|ZH|><|ONG4|><|IAO4|>。"
    )


def test_phonemes_absent_unless_requested(frontend: TextFrontend) -> None:
    assert frontend.analyze("重新开始。").segments[0].phonemes is None


def test_alignment_takes_each_characters_phones() -> None:
    assert align_phonemes("银行", ["in2", "-", "h", "ang2"], frozenset("银")) == "银<|H|><|ANG2|>"
    assert align_phonemes("银行", ["in2", "-", "h", "ang2"], frozenset("银行")) == "银行"
    assert align_phonemes("㐀", [], frozenset()) == "㐀"


def test_chinese_runs_cover_the_text() -> None:
    assert list(chinese_runs("我用python写。")) == [
        ("我用", True),
        ("python", False),
        ("写", True),
        ("。", False),
    ]


def test_preload_loads_phoneme_mode_in_the_background(text_cache_dir: Path) -> None:
    front = TextFrontend(FrontendConfig(cache_dir=text_cache_dir, preload_phoneme=True))
    front.load()
    assert front.analyze("行。", phoneme=True).segments[0].phonemes == "<|X|><|ING2|>。"
