"""Splitting as upstream's ``split_by_len(min 30, max 60)``: pieces end at a mark once long enough, hard cuts
after 60 units; each piece is normalized again."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmtts.text import FrontendConfig, TextFrontend
from glmtts.text.split import count_syllables, count_units, split_text, split_units


def test_short_text_is_one_piece() -> None:
    assert split_text("今天天气很好。") == ["今天天气很好。"]


def test_a_piece_ends_at_the_first_mark_after_min_units() -> None:
    text = "一二三四五六七八九十，" * 4
    assert (
        split_text(text, min_units=15, max_units=40) == ["一二三四五六七八九十，一二三四五六七八九十，"] * 2
    )


def test_hard_cut_after_max_units_without_punctuation() -> None:
    assert [len(p) for p in split_text("天" * 130, 30, 60)] == [60, 60, 10]


def test_a_hard_cut_on_a_mark_takes_the_mark_along() -> None:
    first, rest = " ".join(["cat"] * 45) + ",", " ".join(["cat"] * 30)
    assert split_text(first + rest, 45, 45) == [first, rest]


def test_units_keep_english_words_whole_and_spaces_with_the_word_before() -> None:
    assert split_units("我用 don't stop-it 2次") == ["我", "用 ", "don't ", "stop-it ", "2", "次"]


def test_english_words_count_by_syllables() -> None:
    assert count_units(["hello ", "world"]) == pytest.approx(0.7 * 2 + 0.7 * 1)
    assert count_units(["我", "2", "é"]) == 3


@pytest.mark.parametrize(
    ("word", "syllables"), [("cat", 1), ("table", 1), ("forest", 2), ("the", 1), ("be", 1)]
)
def test_syllables_by_upstreams_vowel_groups(word: str, syllables: int) -> None:
    assert count_syllables(word) == syllables


def test_a_long_run_of_english_words_is_cut_by_units() -> None:
    text = " ".join(["extraordinary"] * 80)
    pieces = split_text(text, 30, 60)
    assert [len(piece.split()) for piece in pieces] == [60, 20]


def test_a_rest_with_fewer_units_than_the_limit_is_kept_whole() -> None:
    """Upstream fails here (it indexes unit 60 of a 50-unit list); the rest is kept as one piece."""
    text = " ".join(["internationalization"] * 50)
    assert split_text(text, 30, 60) == [text]


def test_units_are_configurable(text_cache_dir: Path) -> None:
    front = TextFrontend(FrontendConfig(min_units=5, max_units=10, cache_dir=text_cache_dir))
    front.load()
    result = front.analyze("今天天气很好，我们去公园散步，然后回家吃饭。")
    assert [s.text for s in result.segments] == ["今天天气很好。", "我们去公园散步。", "然后回家吃饭。"]


def test_each_piece_is_normalized_again(frontend: TextFrontend) -> None:
    text = "春天来了，公园里的花都开了，红的像火，粉的像霞，白的像雪。小朋友们在草地上奔跑，老人们在树下下棋，真热闹。"
    result = frontend.analyze(text)
    assert frontend.split(result.normalized) == [
        "春天来了，公园里的花都开了，红的像火，粉的像霞，白的像雪。小朋友们在草地上奔跑，",
        "老人们在树下下棋，真热闹。",
    ]
    assert [segment.text for segment in result.segments] == [
        "春天来了，公园里的花都开了，红的像火，粉的像霞，白的像雪。小朋友们在草地上奔跑。",
        "老人们在树下下棋，真热闹。",
    ]


def test_split_false_keeps_one_segment(frontend: TextFrontend) -> None:
    text = (
        "春天来了，公园里的花都开了，红的像火，粉的像霞，白的像雪。小朋友们在草地上奔跑，老人们在树下下棋。"
    )
    assert len(frontend.analyze(text, split=False).segments) == 1


def test_invalid_bounds_rejected() -> None:
    with pytest.raises(ValueError, match="min_units"):
        split_text("abc", 10, 5)
