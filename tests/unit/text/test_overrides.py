"""The override table: each entry reads its example as recorded (ours), and as upstream when turned off.

The ``official`` strings were produced by the official GLM-TTS frontend. Cases next to each override that
upstream reads correctly, or that are upstream's deliberate choice, stay exactly upstream's.
"""

from __future__ import annotations

import pytest

from glmtts.text import TextFrontend
from glmtts.text.overrides import OVERRIDES, Override


@pytest.mark.parametrize("override", OVERRIDES, ids=lambda override: override.name)
def test_override_fixes_its_example(frontend: TextFrontend, override: Override) -> None:
    assert frontend.normalize(override.example) == override.ours


@pytest.mark.parametrize("override", OVERRIDES, ids=lambda override: override.name)
def test_without_overrides_the_example_reads_like_upstream(
    official_frontend: TextFrontend, override: Override
) -> None:
    assert official_frontend.normalize(override.example) == override.official


def test_the_table_is_small_and_documented() -> None:
    assert len(OVERRIDES) <= 5
    assert len({override.name for override in OVERRIDES}) == len(OVERRIDES)
    assert all(override.reason and override.official != override.ours for override in OVERRIDES)


# Further cases of each override, official output from the official frontend.
FIXED = [
    ("一共5～8人。", "一共五。八人。", "一共五到八人。"),
    ("x=-5时成立。", "x等于五时成立。", "x等于负五时成立。"),
    ("He drives 60 miles per hour.", "he drives sixty miles per h our.", "he drives sixty miles per hour."),
]
UNCHANGED = [
    ("请在3-5个工作日内完成。", "请在三减五个工作日内完成。"),  # upstream's hyphen rule between digits
    ("电话是010-12345678。", "电话是零幺零减幺二三四五六七八。"),
    ("零下-5℃很冷。", "零下五摄氏度很冷。"),  # the sign is redundant after 零下
    ("Rice costs $2 per kg.", "rice costs two dollars per kilogram."),  # a whole unit after per
    ("这个年龄段是18~35岁。", "这个年龄段是十八到三十五岁。"),
]


@pytest.mark.parametrize(("raw", "official", "ours"), FIXED)
def test_more_cases_of_each_override(
    frontend: TextFrontend, official_frontend: TextFrontend, raw: str, official: str, ours: str
) -> None:
    assert official_frontend.normalize(raw) == official
    assert frontend.normalize(raw) == ours


@pytest.mark.parametrize(("raw", "official"), UNCHANGED)
def test_cases_upstream_reads_are_not_overridden(frontend: TextFrontend, raw: str, official: str) -> None:
    assert frontend.normalize(raw) == official


def test_per_day_is_fixed_in_each_piece_too(frontend: TextFrontend) -> None:
    """Upstream re-normalizes each piece, which turns its "per dalton y" into "per dalton lton y"."""
    result = frontend.analyze("It travels 10km per day.", phoneme=True)
    assert [segment.text for segment in result.segments] == ["it travels ten kilometers per day."]
    assert [segment.phonemes for segment in result.segments] == ["it travels ten kilometers per day."]
