"""Golden normalization cases: each expected string is the official GLM-TTS ``text_normalize`` output (run
through the official code, see tests/data/text_frontend/README.md), including upstream readings that are
debatable (``客服热线400-123-4567`` → 四零零减幺二三减四千五百六十七, ``10/20`` → 十月二十日)."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmtts.text import FrontendConfig, TextFrontend

# WeText's traditional → simplified conversion, as the official ZhNormalizer does by default.
TRADITIONAL_TO_SIMPLIFIED = [
    ("臺北的捷運很方便，週末人很多。", "台北的捷运很方便，周末人很多。"),
    ("我們應該學習這門語言。", "我们应该学习这门语言。"),
    ("這個電腦軟體很實用。", "这个电脑软体很实用。"),
]
# The packaged official custom_replace.jsonl (噢→哦, 欸→诶) applies to every Chinese text.
CUSTOM_REPLACE = [
    ("噢，我想起来了。", "哦，我想起来了。"),
    ("欸，等等我！", "诶，等等我。"),
    ("他噢了一声，欸了一下。", "他哦了一声，诶了一下。"),
]
# A run of marks keeps its last mark, then ！→。 and !→. (upstream normalize_punctuation).
PUNCTUATION_RUNS = [
    ("你来了吗？！", "你来了吗。"),
    ("What?! No way!", "what. no way."),
    ("太棒了！！！", "太棒了。"),
    ("等一下……好了。", "等一下。好了。"),
    ("是吗？。", "是吗。"),
    ("好的，。", "好的。"),
    ("Wait... what?", "wait. what?"),
]
# Digit strings (order numbers, hotlines, plates, IDs, rooms, flights): never huge cardinals.
DIGIT_STRINGS = [
    ("您的订单号是20231105007，请妥善保存。", "您的订单号是二零二三幺幺零五零零七，请妥善保存。"),
    ("客服热线400-123-4567。", "客服热线四零零减幺二三减四千五百六十七。"),
    ("请拨打12345热线反映问题。", "请拨打幺二三四五热线反映问题。"),
    ("车牌号是粤B12345。", "车牌号是粤b幺二三四五。"),
    ("他的身份证号是110105199012310021。", "他的身份证号是幺幺零幺零五幺九九零幺二三幺零零二幺。"),
    ("请到502室办理手续。", "请到五零二室办理手续。"),
    ("快递员把包裹放在了1101房间门口。", "快递员把包裹放在了一千一百零一房间门口。"),
    ("这趟航班CZ3101准点起飞。", "这趟航班cz三千一百零一准点起飞。"),
]
# 两 / 二 as WeText says it.
TWO_AS_LIANG = [
    ("2个人", "两个人。"),
    ("共有2万元", "共有两万元。"),
    ("第2个", "第两个。"),
    ("1234人", "一千两百三十四人。"),
    ("2楼", "二楼。"),
]
# special_replace: a lone 额 is 呃.
INTERJECTIONS = [
    ("额，我不太清楚。", "呃，我不太清楚。"),
]
# Symbols, markdown list numbers and line merging.
SYMBOLS_AND_LAYOUT = [
    ("我有3.5公斤香蕉。", "我有三点五公斤香蕉。"),
    ("增长了12.5%。", "增长了百分之十二点五。"),
    ("E=mc²是著名的公式。", "e等于mc平方是著名的公式。"),
    ("10/20的人", "十月二十日的人。"),
    ("**重点**：请注意", "重点，请注意。"),
    ("x*y=10", "xmultiplyy ten."),
    ("1. 打开电脑\\n2. 登录账号", "一。打开电脑。二。登录账号。"),
    ("第一行\\n第二行", "第一行。第二行。"),
]
# The English grammar and upstream's English clean-up.
ENGLISH = [
    ("The 3rd of May, 2021 was sunny.", "the third of may, twenty twenty one was sunny."),
    ("I owe you $3.50.", "i owe you three point five dollars."),
    ("It costs 5 dollars.", "it costs five dollars."),
    ("He's 6'2\" tall.", "he's six'two tall."),
    ("A-B testing is common.", "a b testing is common."),
]
MIXED = [
    ("我买了一台iPhone，花了6999元。", "我买了一台iphone，花了六千九百九十九元。"),
]
ALL = (
    TRADITIONAL_TO_SIMPLIFIED
    + CUSTOM_REPLACE
    + PUNCTUATION_RUNS
    + DIGIT_STRINGS
    + TWO_AS_LIANG
    + INTERJECTIONS
    + SYMBOLS_AND_LAYOUT
    + ENGLISH
    + MIXED
)


@pytest.mark.parametrize(("raw", "expected"), ALL)
def test_normalize_golden(frontend: TextFrontend, raw: str, expected: str) -> None:
    assert frontend.normalize(raw) == expected


def test_custom_replace_file_in_config_replaces_the_packaged_one(
    tmp_path: Path, text_cache_dir: Path
) -> None:
    custom = tmp_path / "custom_replace.jsonl"
    custom.write_text('{"origin": "苹果", "new": "平果"}\n', encoding="utf-8")
    front = TextFrontend(FrontendConfig(custom_replace_path=custom, cache_dir=text_cache_dir))
    front.load()
    assert front.normalize("噢，苹果。") == "噢，平果。"


def test_normalize_is_deterministic(frontend: TextFrontend) -> None:
    text = "2024年3月15日，价格¥199.50，增长25%。I paid $25.99 at 10:45 a.m."
    assert len({frontend.normalize(text) for _ in range(3)}) == 1


@pytest.mark.parametrize("raw", ["", "   ", "！！！", "……", "😀👍", "\n\n"])
def test_unspeakable_text_normalizes_to_nothing(frontend: TextFrontend, raw: str) -> None:
    assert frontend.normalize(raw) == ""
