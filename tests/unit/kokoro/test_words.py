"""Kokoro word timing pieces without the model: word spans of phoneme runs, run splitting, the duration
tensor's discovery in a graph, and pause placement on synthetic audio."""

from __future__ import annotations

import numpy as np
import pytest

from glmtts.engines.kokoro.durations import SAMPLES_PER_FRAME, expose_durations, find_duration_tensor
from glmtts.engines.kokoro.espeak import EspeakPhonemizer
from glmtts.engines.kokoro.g2p import KokoroPhonemizer
from glmtts.engines.kokoro.words import PhonemeRun, RunWord, english_words, time_words, token_positions
from glmtts.errors import EngineError
from glmtts.text.config import G2PToken, Segment, TokenKind

RATE = 24_000


def test_english_words_one_phoneme_word_per_word() -> None:
    words = english_words("həlˈO wˈɜɹld", [(5, 0, 5), (5, 6, 11)])
    assert [(w.start, w.end, w.char_start, w.char_end) for w in words] == [(0, 5, 0, 5), (6, 12, 6, 11)]


def test_english_words_joined_by_espeak_share_by_letters() -> None:
    """Three input words, two phoneme words: the short function word joins its neighbour."""
    phonemes = "ʌvðə kˈæt"
    words = english_words(phonemes, [(2, 0, 2), (3, 3, 6), (3, 7, 10)])
    assert [phonemes[w.start : w.end] for w in words] == ["ʌvðə", "kˈæt"]
    assert (words[0].char_start, words[0].char_end) == (0, 6) and (
        words[1].char_start,
        words[1].char_end,
    ) == (7, 10)


def test_mixed_segment_words_carry_their_source_spans() -> None:
    from glmtts.engines.kokoro.assets import load_vocab

    text = "我用python，好。"
    tokens = (
        G2PToken("我用", TokenKind.ZH, ("wo3", "yong4"), 0, 2),
        G2PToken("python", TokenKind.EN, (), 2, 8),
        G2PToken("，", TokenKind.PUNCT, (), 8, 9),
        G2PToken("好", TokenKind.ZH, ("hao3",), 9, 10),
        G2PToken("。", TokenKind.PUNCT, (), 10, 11),
    )
    runs = KokoroPhonemizer(load_vocab(), EspeakPhonemizer()).word_runs(Segment(text, tokens, "", None))
    assert [run.phonemes for run in runs] == ["wo↓jʊ↘ŋ", "pˈIθən,", "xau↓."]
    shown = [
        [(run.phonemes[w.start : w.end], text[w.char_start : w.char_end]) for w in run.words] for run in runs
    ]
    assert shown == [[("wo↓", "我"), ("jʊ↘ŋ", "用")], [("pˈIθən", "python")], [("xau↓", "好")]]


def test_a_word_read_from_other_characters_is_one_word() -> None:
    """二零二五 read from "2025" (4 hanzi, 4 digits but not one hanzi per character) stays whole when the
    counts differ; a word whose characters match one to one splits per hanzi."""
    from glmtts.engines.kokoro.assets import load_vocab

    phonemizer = KokoroPhonemizer(load_vocab(), EspeakPhonemizer())
    whole = G2PToken("二零二五年", TokenKind.ZH, ("er4", "ling2", "er4", "wu3", "nian2"), 3, 8)
    parts = G2PToken("二零二", TokenKind.ZH, ("er4", "ling2", "er4"), 3, 7)
    for token, expected in ((whole, 5), (parts, 1)):
        (run,) = phonemizer.word_runs(Segment("", (token,), "", None))
        assert len(run.words) == expected
        assert run.words[0].char_start == 3 and run.words[-1].char_end == token.char_end


def test_split_run_keeps_each_word_with_its_piece() -> None:
    run = PhonemeRun("ab cd. ef", (RunWord(0, 2, 0, 1), RunWord(3, 5, 2, 3), RunWord(7, 9, 5, 6)))
    first, second = run.split(["ab cd.", "ef"])
    assert [(w.start, w.end) for w in first.words] == [(0, 2), (3, 5)]
    assert [(w.start, w.end, w.char_start) for w in second.words] == [(0, 2, 5)]


def _graph(rounding: str) -> object:
    import onnx
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Div", ["x", "speed"], ["scaled"]),
        helper.make_node(rounding, ["scaled"], ["rounded"]),
        helper.make_node("Clip", ["rounded", "one"], ["clipped"]),
        helper.make_node("Cast", ["clipped"], ["frames"], to=TensorProto.INT64),
        helper.make_node("CumSum", ["frames", "axis"], ["ends"]),
    ]
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("x", "speed")]
    constants = [
        helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
        helper.make_tensor("axis", TensorProto.INT64, [], [0]),
    ]
    outputs = [helper.make_tensor_value_info("ends", TensorProto.INT64, None)]
    return onnx.helper.make_model(helper.make_graph(nodes, "g", inputs, outputs, constants))


def test_the_duration_tensor_is_found_by_its_shape_and_exposed() -> None:
    model = _graph("Round")
    assert find_duration_tensor(model.graph) == "frames"  # type: ignore[attr-defined]
    assert expose_durations(model) == "frames"
    assert [o.name for o in model.graph.output] == ["ends", "durations"]  # type: ignore[attr-defined]
    with pytest.raises(EngineError, match="already has"):
        expose_durations(model)


def test_a_graph_without_rounded_durations_is_refused() -> None:
    with pytest.raises(EngineError, match="cannot find"):
        find_duration_tensor(_graph("Relu").graph)  # type: ignore[attr-defined]


def _tone(n_samples: int) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * 200 * np.arange(n_samples) / RATE)).astype(np.float32)


def test_words_end_and_start_at_the_pause_not_at_silent_frames() -> None:
    """Word A's frames run 250 ms into a pause (its last phoneme is silent), the pause spans a mark's
    frames and the first 50 ms of word B's frames: both words are cut at the pause edges."""
    frame = SAMPLES_PER_FRAME
    durations = np.array([0, 20, 10, 8, 4])  # pad, A, mark, B, pad
    speech_a, pause, speech_b, tail = 10 * frame, 22 * frame, 6 * frame, 4 * frame
    silence = np.zeros(pause, np.float32)
    audio = np.concatenate([_tone(speech_a), silence, _tone(speech_b), np.zeros(tail, np.float32)])
    words = (RunWord(0, 1, 0, 1), RunWord(2, 3, 2, 3))  # phonemes "a,b"
    positions = token_positions("a,b", {"a": 1, ",": 2, "b": 3})
    (_, a_start, a_end), (_, b_start, b_end) = time_words(words, positions, durations, 0, audio, 0.01, RATE)
    edge = int(0.0025 * RATE)  # the 5 ms envelope reaches half a window past the speech
    assert a_start == 0 and abs(a_end - speech_a) <= edge
    assert abs(b_start - (speech_a + pause)) <= edge and abs(b_end - (audio.size - tail)) <= edge


def test_trimmed_start_shifts_the_frames() -> None:
    """The engine cut ``trimmed_start`` samples off the run's start: frame times move back by as much."""
    durations = np.array([4, 10, 4])
    audio = _tone(10 * SAMPLES_PER_FRAME)
    cut = 4 * SAMPLES_PER_FRAME
    padded = np.concatenate([audio, np.zeros(4 * SAMPLES_PER_FRAME, np.float32)])
    ((_, start, end),) = time_words(
        (RunWord(0, 1, 0, 1),), np.array([0, 1]), durations, cut, padded, 0.01, RATE
    )
    assert start == 0 and abs(end - audio.size) <= int(0.0025 * RATE)
