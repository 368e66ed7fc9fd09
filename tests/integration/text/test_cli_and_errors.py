"""``glmtts text`` output shapes and the bad-input errors of the frontend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glmtts.cli.main import main
from glmtts.errors import NothingToSayError
from glmtts.text import TextFrontend


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xdg_cache_home: Path, frontend: TextFrontend
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg_cache_home))  # the caches the session frontend built
    monkeypatch.chdir(tmp_path)


def test_json_output_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["text", "--json", "--phoneme", "银行行长说，还款的时候还需要带上身份证。"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"normalizer", "normalized", "segments", "pinyin", "phonemes"}
    assert payload["normalizer"]["name"] == "WeTextProcessing"
    assert payload["normalizer"]["version"] == "1.0.3"
    assert payload["normalizer"]["runtime"].startswith("kaldifst")
    assert payload["normalizer"]["overrides"] is True
    assert payload["normalized"] == "银行行长说，还款的时候还需要带上身份证。"
    assert payload["segments"] == [payload["normalized"]]
    assert payload["pinyin"][0].startswith("yin2 hang2 hang2 zhang3")
    assert payload["phonemes"][0].startswith("银<|H|><|ANG2|><|H|><|ANG2|><|ZH|><|ANG3|>")


def test_json_without_phoneme_has_null_phonemes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["text", "--json", "Hello 2 worlds"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload.pop("normalizer")["source"].startswith("zh: FSTs built by WeTextProcessing 1.0.3")
    assert payload == {
        "normalized": "hello two worlds.",
        "segments": ["hello two worlds."],
        "pinyin": [""],
        "phonemes": None,
    }


def test_official_and_extra_dict_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["text", "--json", "--official", "气温-3℃。"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["normalized"] == "气温三摄氏度。" and payload["normalizer"]["overrides"] is False
    assert main(["text", "--json", "--phoneme", "--extra-dict", "说服"]) == 0
    assert json.loads(capsys.readouterr().out)["phonemes"] == ["<|SH|><|UO1|><|F|><|U2|>。"]


def test_dict_option_changes_reading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dictionary = tmp_path / "d.jsonl"
    dictionary.write_text('{"重": "chong2"}\n', encoding="utf-8")
    assert main(["text", "--json", "--phoneme", "--dict", str(dictionary), "很重"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["pinyin"] == ["hen3 chong2"]
    assert payload["phonemes"] == ["很<|CH|><|ONG2|>。"]


def test_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["text", "--phoneme", "重新开始"]) == 0
    out = capsys.readouterr().out
    assert "normalized: 重新开始。" in out and "pinyin:   chong2 xin1 kai1 shi3" in out
    assert "phonemes: <|CH|><|ONG2|>新开始。" in out


def test_words_option_shows_readings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["text", "--words", "我用iPhone去银行"]) == 0
    out = capsys.readouterr().out
    assert "  words:    " in out and "iPhone[en] 去(qu4) 银行(yin2 hang2)" in out


def test_emoji_only_is_nothing_to_say(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["text", "😂😂👍"]) == 2
    assert capsys.readouterr().err.startswith("error: nothing to say")


def test_malformed_dict_exits_2_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"弈": "<|I4|>"}\n{"重": chong2}\n', encoding="utf-8")
    assert main(["text", "--dict", str(bad), "你好"]) == 2
    assert f"error: {bad}:2: invalid JSON" in capsys.readouterr().err


def test_unknown_token_exits_2_listing_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"重": "<|CHX|><|ONG2|>"}\n', encoding="utf-8")
    assert main(["text", "--dict", str(bad), "你好"]) == 2
    err = capsys.readouterr().err
    assert "unknown phoneme token <|CHX|>" in err and "valid tokens: B P M" in err


@pytest.mark.parametrize("text", ["", "   ", "。。。！", "😀🎉", "（）", "\n"])
def test_analyze_rejects_unspeakable_text(frontend: TextFrontend, text: str) -> None:
    with pytest.raises(NothingToSayError, match="nothing to say"):
        frontend.analyze(text)
