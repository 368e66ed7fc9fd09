"""Golden splitting cases: bounded segments, cuts at punctuation, never inside numbers, words or names."""

from __future__ import annotations

import pytest

from glmtts.text import FrontendConfig, TextFrontend
from glmtts.text.marks import protect
from glmtts.text.split import count_syllables, split_text


def test_short_text_is_one_piece() -> None:
    assert split_text("今天天气很好。") == ["今天天气很好。"]


def test_cut_at_first_punctuation_after_min_units() -> None:
    text = "一二三四五六七八九十，" * 4
    pieces = split_text(text, min_units=15, max_units=40)
    assert pieces == ["一二三四五六七八九十，一二三四五六七八九十，"] * 2


def test_hard_cut_at_max_units_without_punctuation() -> None:
    text = "天" * 70 + "。"
    assert [len(p) for p in split_text(text, 30, 60)] == [60, 11]


def test_never_cut_inside_a_protected_number() -> None:
    text = "天" * 55 + protect("一千二百三十四万五千六百七十八") + "元。"
    pieces = split_text(text, 30, 60)
    assert any(protect("一千二百三十四万五千六百七十八") in piece for piece in pieces)


def test_never_cut_inside_a_quoted_name(frontend: TextFrontend) -> None:
    text = "我" * 50 + "《一二三四五六七八九十一二三四五六七八九十》" + "好看。"
    result = frontend.analyze(text)
    joined = [segment.text for segment in result.segments]
    assert any("一二三四五六七八九十一二三四五六七八九十" in piece for piece in joined)


def test_never_cut_inside_an_english_word() -> None:
    words = " ".join(["extraordinary"] * 30) + "."
    pieces = split_text(words, 30, 60)
    assert len(pieces) > 1
    for piece in pieces:
        assert all(word.strip(".") == "extraordinary" for word in piece.split())


def test_punctuation_followed_by_punctuation_stays_together() -> None:
    text = "天" * 35 + "。”后面还有" + "天" * 10 + "。"
    pieces = split_text(text, 30, 60)
    assert pieces[0].endswith("。”") or pieces[0].endswith("。")


@pytest.mark.parametrize(
    ("word", "syllables"), [("cat", 1), ("table", 2), ("forest", 2), ("happily", 3), ("make", 1)]
)
def test_syllable_estimate(word: str, syllables: int) -> None:
    assert count_syllables(word) == syllables


def test_units_are_configurable(text_cache_dir: object) -> None:
    front = TextFrontend(FrontendConfig(min_units=5, max_units=10, cache_dir=text_cache_dir))  # type: ignore[arg-type]
    front.load()
    result = front.analyze("今天天气很好，我们去公园散步，然后回家吃饭。")
    assert [s.text for s in result.segments] == ["今天天气很好。", "我们去公园散步。", "然后回家吃饭。"]


def test_segments_end_with_a_sentence_mark(frontend: TextFrontend) -> None:
    text = (
        "春天来了，公园里的花都开了，红的像火，粉的像霞，白的像雪。小朋友们在草地上奔跑，老人们在树下下棋。"
    )
    result = frontend.analyze(text)
    assert len(result.segments) == 2
    assert all(segment.text.endswith("。") for segment in result.segments)


def test_split_false_keeps_one_segment(frontend: TextFrontend) -> None:
    text = (
        "春天来了，公园里的花都开了，红的像火，粉的像霞，白的像雪。小朋友们在草地上奔跑，老人们在树下下棋。"
    )
    assert len(frontend.analyze(text, split=False).segments) == 1


def test_invalid_bounds_rejected() -> None:
    with pytest.raises(ValueError, match="min_units"):
        split_text("abc", 10, 5)
