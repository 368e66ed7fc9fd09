"""The WeTextProcessing grammar runtime: packaged FSTs, token reordering, tagging, the emoji guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmtts.text import TextFrontend
from glmtts.text.grammar import FST_NAMES, ZH_FIELD_ORDERS, GrammarSet, reorder_tokens, unpack_fsts
from glmtts.text.rules import EMOJI_CANDIDATE, prepare


def test_fields_are_put_in_the_verbalizer_order() -> None:
    tagged = 'char { value: "在" } time { hour: "3" minute: "30" noon: "下午" } char { value: "见" }'
    assert reorder_tokens(tagged, ZH_FIELD_ORDERS) == (
        'char { value: "在" } time { noon: "下午" hour: "3" minute: "30" } char { value: "见" }'
    )


def test_unlisted_fields_of_an_ordered_token_are_dropped_as_upstream() -> None:
    assert reorder_tokens('money { currency: "元" extra: "x" value: "五" }', ZH_FIELD_ORDERS) == (
        'money { value: "五" currency: "元" }'
    )


def test_preserve_order_and_escapes_are_kept() -> None:
    tagged = 'date { month: "3" preserve_order: "true" year: "a\\"b" }'
    assert reorder_tokens(tagged, {"date": ("year", "month")}) == tagged


def test_malformed_tagger_output_is_an_error() -> None:
    with pytest.raises(ValueError, match="malformed"):
        reorder_tokens("char { value: 'x' }", ZH_FIELD_ORDERS)


def test_grammars_tag_and_verbalize(frontend: TextFrontend, text_cache_dir: Path) -> None:
    grammars = GrammarSet(text_cache_dir)
    grammars.load()
    assert grammars.zh is not None and grammars.en is not None
    assert grammars.zh.tag("2个") == 'measure { value: "两个" }'
    assert grammars.zh.normalize("下午3:30") == "下午三点三十分"
    assert grammars.en.normalize("I paid $5.") == "I paid five dollars."
    assert grammars.zh.normalize("") == ""


def test_fsts_unpack_once_into_a_folder_named_by_their_hash(tmp_path: Path) -> None:
    folder = unpack_fsts(tmp_path)
    assert sorted(path.name for path in folder.iterdir()) == sorted(f"{name}.fst" for name in FST_NAMES)
    stamps = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    assert unpack_fsts(tmp_path) == folder
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == stamps
    assert all((folder / f"{name}.fst").stat().st_size > 100_000 for name in FST_NAMES)


def test_normalizer_info_names_the_grammars(frontend: TextFrontend) -> None:
    info = frontend.normalizer_info
    assert (info.name, info.version) == ("WeTextProcessing", "1.0.3")
    assert "GLM-TTS" in info.source and info.runtime.startswith("kaldifst ")


def test_every_emoji_has_a_candidate_character() -> None:
    """The guard that skips importing the emoji package must see every emoji that package removes."""
    import emoji

    missed = [text for text in emoji.EMOJI_DATA if not EMOJI_CANDIDATE.search(text)]
    assert missed == []


def test_emoji_are_removed_and_other_text_is_kept() -> None:
    assert prepare("你好👋，欢迎🎉") == "你好，欢迎。"
    assert prepare("价格…“好”—") == "价格…“好”—。"
