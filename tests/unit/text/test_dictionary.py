"""Pronunciation dictionaries: upstream formats, overrides reaching both engines, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glmtts.errors import PronunciationDictError, UnknownPhonemeError
from glmtts.text import (
    FrontendConfig,
    PronunciationDictionary,
    TextFrontend,
    TokenKind,
    load_custom_replace,
    load_replace_dict,
)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_upstream_jsonl_and_pinyin_forms(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "G2P_replace_dict.jsonl",
        [
            '{"弈": "<|I4|>"}',
            '{"衰": "<|C|><|UEI1|>"}',
            "",
            "# comment",
            '{"重": "chong2"}',
            "长:zhang3",
        ],
    )
    dictionary = load_replace_dict(path)
    assert dictionary.entries == {
        "弈": "<|I4|>",
        "衰": "<|C|><|UEI1|>",
        "重": "<|CH|><|ONG2|>",
        "长": "<|ZH|><|ANG3|>",
    }


def test_longest_match_wins() -> None:
    dictionary = PronunciationDictionary({"重": "<|CH|><|ONG2|>", "重量": "<|ZH|><|ONG4|>量"})
    assert dictionary.longest_match("重量级", 0) == ("重量", "<|ZH|><|ONG4|>量")
    assert dictionary.longest_match("很重", 1) == ("重", "<|CH|><|ONG2|>")
    assert dictionary.longest_match("很重", 0) is None


def test_save_and_reload_round_trip(tmp_path: Path) -> None:
    dictionary = PronunciationDictionary({"弈": "<|I4|>", "重新": "<|CH|><|ONG2|>新"})
    dictionary.save(tmp_path / "out.jsonl")
    assert load_replace_dict(tmp_path / "out.jsonl") == dictionary
    assert dictionary.to_lines()[0] == json.dumps({"弈": "<|I4|>"}, ensure_ascii=False)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"重": "chong2"', "invalid JSON"),
        ('["重", "chong2"]', "expected a JSON object"),
        ('{"重": 2}', "must be a string"),
        ('{"": "chong2"}', "source text is empty"),
        ('{"重": ""}', "is empty"),
        ("just some words", "expected a JSON object"),
        ("{}", "empty object"),
    ],
)
def test_malformed_line_reports_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = _write(tmp_path / "bad.jsonl", ['{"弈": "<|I4|>"}', line])
    with pytest.raises(PronunciationDictError) as error:
        load_replace_dict(path)
    assert error.value.message.startswith(f"{path}:2: ")
    assert reason in error.value.message
    assert error.value.exit_code == 2


def test_unknown_phoneme_token_lists_valid_tokens(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.jsonl", ['{"重": "<|CH|><|ONG7|>"}'])
    with pytest.raises(UnknownPhonemeError) as error:
        load_replace_dict(path)
    message = error.value.message
    assert f"{path}:1" in message and "<|ONG7|>" in message
    assert "valid tokens:" in message and "ZH" in message and "ONG2" in message


def test_custom_replace_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "custom_replace.jsonl", ['{"origin": "噢", "new": "哦"}'])
    assert load_custom_replace(path) == (("噢", "哦"),)
    bad = _write(tmp_path / "bad.jsonl", ['{"origin": "噢"}'])
    with pytest.raises(PronunciationDictError, match=r"bad.jsonl:1"):
        load_custom_replace(bad)


def test_forced_reading_changes_both_engines_inputs(frontend: TextFrontend) -> None:
    text = "这个箱子的重量很重。"
    plain = frontend.analyze(text, phoneme=True).segments[0]
    forced = frontend.analyze(text, phoneme=True, extra_entries=[("重", "chong2")]).segments[0]
    assert "zhong4 liang4" in plain.pinyin and plain.pinyin.endswith("hen3 zhong4")
    assert "chong2 liang4" in forced.pinyin and forced.pinyin.endswith("hen3 chong2")  # kokoro reads pinyin
    assert forced.phonemes is not None and forced.phonemes.count("<|CH|><|ONG2|>") == 2  # glm reads tokens
    assert [t.pinyin for t in forced.tokens if t.text == "重"] == [("chong2",), ("chong2",)]


@pytest.mark.parametrize(
    ("text", "entry", "before", "after"),
    [
        ("他在银行工作。", ("行", "xing2"), "yin2 hang2", "yin2 xing2"),
        ("他长大了。", ("长", "chang2"), "zhang3 da4", "chang2 da4"),
        ("你还好吗？", ("还", "huan2"), "hai2 hao3", "huan2 hao3"),
        ("音乐让人快乐。", ("乐", "yue4"), "kuai4 le4", "kuai4 yue4"),
        ("我们重新开始。", ("重新", "<|ZH|><|ONG4|>新"), "chong2 xin1", "zhong4 xin1"),
    ],
)
def test_overrides_for_common_polyphones(
    frontend: TextFrontend, text: str, entry: tuple[str, str], before: str, after: str
) -> None:
    assert before in frontend.analyze(text).segments[0].pinyin
    assert after in frontend.analyze(text, extra_entries=[entry]).segments[0].pinyin


def test_mixed_replacement_aligns_text_and_tokens(frontend: TextFrontend) -> None:
    segment = frontend.analyze("重新来", phoneme=True, extra_entries=[("重新", "<|ZH|><|ONG4|>新")]).segments[
        0
    ]
    assert segment.tokens[0].text == "重新" and segment.tokens[0].pinyin == ("zhong4", "xin1")
    assert segment.phonemes == "<|ZH|><|ONG4|>新来。"


def test_per_request_entry_does_not_leak(frontend: TextFrontend) -> None:
    frontend.analyze("重量", extra_entries=[("重", "chong2")])
    assert frontend.analyze("重量").segments[0].pinyin == "zhong4 liang4"


def test_bad_per_request_entry_is_typed(frontend: TextFrontend) -> None:
    with pytest.raises(UnknownPhonemeError):
        frontend.analyze("重量", extra_entries=[("重", "<|XX9|>")])
    with pytest.raises(PronunciationDictError):
        frontend.analyze("重量", extra_entries=[("重", "")])


def test_configs_dictionary_in_working_directory_is_picked_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text_cache_dir: Path
) -> None:
    (tmp_path / "configs").mkdir()
    _write(tmp_path / "configs" / "G2P_replace_dict.jsonl", ['{"重量": "<|CH|><|ONG2|>量"}'])
    _write(tmp_path / "configs" / "custom_replace.jsonl", ['{"origin": "噢", "new": "哦"}'])
    monkeypatch.chdir(tmp_path)
    front = TextFrontend(FrontendConfig(cache_dir=text_cache_dir))
    front.load()
    assert front.dictionary_path == (tmp_path / "configs" / "G2P_replace_dict.jsonl").resolve()
    assert front.analyze("重量").segments[0].pinyin == "chong2 liang4"
    assert front.normalize("噢，原来如此") == "哦，原来如此。"


def test_packaged_default_applies_without_configs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text_cache_dir: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    front = TextFrontend(FrontendConfig(cache_dir=text_cache_dir))
    front.load()
    assert front.dictionary_path is None
    assert front.dictionary["弈"] == "<|I4|>"
    assert "<|I4|>" in (front.analyze("对弈", phoneme=True).segments[0].phonemes or "")


def test_set_dictionary_replaces_and_saves(tmp_path: Path, text_cache_dir: Path) -> None:
    front = TextFrontend(FrontendConfig(dictionary_path=tmp_path / "none.jsonl", cache_dir=text_cache_dir))
    with pytest.raises(PronunciationDictError, match=r"none\.jsonl"):
        front.load()
    new = PronunciationDictionary.from_lines(['{"长": "chang2"}'], source="request")
    front.set_dictionary(new, save_to=tmp_path / "configs" / "G2P_replace_dict.jsonl")
    front.load()
    assert front.analyze("长大").segments[0].pinyin == "chang2 da4"
    assert load_replace_dict(tmp_path / "configs" / "G2P_replace_dict.jsonl") == new


def test_changing_per_request_entries_takes_effect(frontend: TextFrontend) -> None:
    readings = [
        frontend.analyze("很重", extra_entries=[("重", reading)]).segments[0].pinyin
        for reading in ("chong2", "zhong4", "chong2")
    ]
    assert readings == ["hen3 chong2", "hen3 zhong4", "hen3 chong2"]


def test_english_override_becomes_english_tokens(frontend: TextFrontend) -> None:
    segment = frontend.analyze("我们的API很好用。", phoneme=True, extra_entries=[("API", "A P I")]).segments[
        0
    ]
    english = [token.text for token in segment.tokens if token.kind is TokenKind.EN]
    assert english == ["A", "P", "I"]
    assert segment.phonemes == "我们的A P I很<|H|><|AO3|>用。"
