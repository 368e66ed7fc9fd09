"""Segments carry the span of the original text they came from, exact at segment boundaries."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from glmtts.text import FrontendConfig, TextFrontend
from glmtts.text.spans import SourceMap, fold, split_source


@pytest.fixture(scope="module")
def clause_frontend(text_cache_dir: Path) -> TextFrontend:
    """Short pieces (3–60 units), so every clause becomes a segment."""
    front = TextFrontend(FrontendConfig(min_units=3, max_units=60, cache_dir=text_cache_dir))
    front.load()
    return front


CASES = {
    "zh dates, units, emoji, newline": (
        "今天是2025年5月1日，气温25℃！我们去公园玩吧😀。\n明天见",
        ["今天是2025年5月1日，", "气温25℃！", "我们去公园玩吧😀。", "明天见"],
    ),
    "en numbers, money, abbreviation, blank lines, emoji": (
        "I was born in 1990, and it costs $3.50! Dr. Smith said hi.\n\nNew line here 🎉 ok",
        ["I was born in 1990,", "and it costs $3.50!", "Dr. Smith said hi.", "New line here 🎉 ok"],
    ),
    "mixed zh/en with decimals and times": (
        "我用Python写了3个程序，花了2.5小时。Then I slept at 11:30pm, right?",
        ["我用Python写了3个程序，", "花了2.5小时。", "Then I slept at 11:30pm,", "right?"],
    ),
    "numbered list with symbols": (
        "1. 第一项：苹果×2；\n2. 第二项：香蕉",
        ["1. 第一项：", "苹果×2；", "2. 第二项：", "香蕉"],
    ),
    "percent and negative numbers": (
        "  增长了-3.5%，达到1,000元。  ",
        ["增长了-3.5%，", "达到1,000元。"],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_segment_spans_are_the_original_clauses(clause_frontend: TextFrontend, name: str) -> None:
    text, expected = CASES[name]
    result = clause_frontend.analyze(text)
    assert [text[s.char_start : s.char_end] for s in result.segments] == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_spans_tile_the_text_in_order(clause_frontend: TextFrontend, name: str) -> None:
    text, _ = CASES[name]
    segments = clause_frontend.analyze(text).segments
    previous_end = 0
    for segment in segments:
        assert previous_end <= segment.char_start < segment.char_end <= len(text)
        assert not text[previous_end : segment.char_start].strip()
        previous_end = segment.char_end
    assert not text[previous_end:].strip()


def test_default_pieces_span_whole_sentences(frontend: TextFrontend) -> None:
    """With upstream's 30/60 split a segment holds several clauses; its span ends at its last mark."""
    text = "第1章：2024年3月，我们在北京开会。会议讨论了三个问题，持续了2个小时！最后大家一致同意了方案。"
    segments = frontend.analyze(text).segments
    assert len(segments) >= 2
    shown = [text[s.char_start : s.char_end] for s in segments]
    assert "".join(shown) == text
    assert all(piece[-1] in "。！，：" for piece in shown)


def test_hard_cut_inside_a_long_run_stays_monotone(clause_frontend: TextFrontend) -> None:
    text = "一二三四五六七八九十" * 8 + "2025年"
    segments = clause_frontend.analyze(text).segments
    assert len(segments) >= 2
    assert segments[0].char_start == 0 and segments[-1].char_end == len(text)
    for before, after in itertools.pairwise(segments):
        assert before.char_end == after.char_start


def test_spans_can_be_skipped(clause_frontend: TextFrontend) -> None:
    segments = clause_frontend.analyze("你好，世界。", spans=False).segments
    assert [(s.char_start, s.char_end) for s in segments] == [(0, 0), (0, 0)]


def test_fold_keeps_length_and_unifies_marks() -> None:
    """Every clause or sentence mark folds to one symbol: a piece normalized alone ends in "." where the
    whole text had ","."""
    assert fold("Ａ！,。İ？；") == "a...İ.."
    assert len(fold("ﬁ😀\n")) == 3


def test_source_map_is_monotone_with_exact_ends() -> None:
    source = SourceMap("25℃好", "二十五摄氏度好")
    assert source.boundary(0) == 0 and source.boundary(7) == 4
    assert source.boundary(6) == 3  # before 好
    assert [source.boundary(i) for i in range(8)] == sorted(source.boundary(i) for i in range(8))


def test_split_source_keeps_decimals_and_tiles() -> None:
    text = "Pi is 3.14. Next!\n第二，行"
    pieces = split_source(text)
    assert [text[a:b] for a, b in pieces] == ["Pi is 3.14. ", "Next!\n", "第二，", "行"]


TOKEN_CASES = {
    "kept words beside rewritten ones": (
        "It costs $5 at 9:30pm!",
        [("it", "It"), ("costs", "costs"), ("at", "at"), ("PM", "30pm")],
    ),
    "a number read as several words spans its digits": (
        "Today is May 1st, 2025, and we read.",
        [
            ("first", "1st"),
            (",", ","),
            ("twenty", "2025"),
            ("five", "2025"),
            ("and", "and"),
            ("read", "read"),
        ],
    ),
    "chinese words and digits": (
        "今天是2025年5月1日，天气很好。",
        [("今天", "今天"), ("五月", "5月"), ("一日", "1日"), ("，", "，"), ("天气", "天气"), ("。", "。")],
    ),
    "mixed": (
        "我用Python写了3个API，好吗？",
        [("python", "Python"), ("三个", "3个"), ("API", "API"), ("?", "？")],
    ),
}


@pytest.mark.parametrize("name", sorted(TOKEN_CASES))
def test_tokens_carry_the_original_text_they_were_read_from(frontend: TextFrontend, name: str) -> None:
    text, expected = TOKEN_CASES[name]
    shown = {
        token.text: text[token.char_start : token.char_end]
        for s in frontend.analyze(text).segments
        for token in s.tokens
    }
    assert [(word, shown.get(word)) for word, _ in expected] == expected
    starts = [t.char_start for s in frontend.analyze(text).segments for t in s.tokens]
    assert starts == sorted(starts)


def test_without_spans_tokens_point_into_their_segment(frontend: TextFrontend) -> None:
    for segment in frontend.analyze("今天是2025年，GPU很快。", spans=False).segments:
        assert all(segment.text[t.char_start : t.char_end] == t.text.lower() for t in segment.tokens)
