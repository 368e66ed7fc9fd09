"""The kokoro engine on real weights: audio checked as audio, determinism, streaming, errors."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from glmtts.engines.base import CancelToken, SynthesisOptions
from glmtts.engines.kokoro.engine import KokoroEngine
from glmtts.errors import CancelledError, NothingToSayError, TextTooLongError, UnknownVoiceError
from tests.support.kokoro.fixtures import band_energy_fraction, median_f0_hz, rms, voiced_fraction

ZH = "今天天气很好。"
EN = "Hello there, nice to meet you."
MIXED = "我今天用Python写了3个程序"
OPTIONS = SynthesisOptions()


def assert_speech(audio: np.ndarray, sample_rate: int, min_s: float, max_s: float) -> None:
    duration_s = audio.size / sample_rate
    assert min_s <= duration_s <= max_s, duration_s
    assert audio.dtype == np.float32 and np.all(np.abs(audio) <= 1.0)
    assert 0.02 < rms(audio) < 0.5
    assert band_energy_fraction(audio, sample_rate, 80.0, 5000.0) > 0.9
    assert voiced_fraction(audio, sample_rate) > 0.3
    assert 70.0 < median_f0_hz(audio, sample_rate) < 400.0


@pytest.mark.parametrize(("text", "min_s", "max_s"), [(ZH, 1.0, 3.5), (EN, 1.2, 4.0), (MIXED, 1.5, 5.0)])
def test_speech_in_both_languages(kokoro: KokoroEngine, text: str, min_s: float, max_s: float) -> None:
    assert kokoro.sample_rate == 24000
    audio = kokoro.synthesize(text, kokoro.builtin_voice(), OPTIONS)
    assert_speech(audio, kokoro.sample_rate, min_s, max_s)


def test_mixed_text_speaks_the_english_word(kokoro: KokoroEngine) -> None:
    (phonemes,) = kokoro.phonemes(MIXED)
    assert "pˈIθən" in phonemes and "sa→n" in phonemes  # Python, and 3 read as san1


def test_same_input_same_samples_in_process(kokoro: KokoroEngine) -> None:
    first = kokoro.synthesize(ZH, kokoro.builtin_voice(), OPTIONS)
    second = kokoro.synthesize(ZH, kokoro.builtin_voice(), OPTIONS.replace(seed=OPTIONS.seed))
    assert first.tobytes() == second.tobytes()


def test_same_input_same_samples_across_processes(kokoro: KokoroEngine) -> None:
    script = (
        "import hashlib;from glmtts.engines.base import EngineConfig,SynthesisOptions;"
        "from glmtts.engines.kokoro.engine import KokoroEngine;e=KokoroEngine(EngineConfig(n_threads=2));e.load();"
        f"a=e.synthesize({ZH!r},e.builtin_voice(),SynthesisOptions());print(hashlib.sha256(a.tobytes()).hexdigest())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    here = hashlib.sha256(kokoro.synthesize(ZH, kokoro.builtin_voice(), OPTIONS).tobytes()).hexdigest()
    assert result.stdout.strip().splitlines()[-1] == here


def test_stream_yields_chunks_as_they_come(kokoro: KokoroEngine) -> None:
    text = "今天天气很好。Let's go."
    chunks = list(kokoro.stream(text, kokoro.builtin_voice(), OPTIONS))
    assert len(chunks) >= 2
    assert [c.segment_index for c in chunks] == list(range(len(chunks)))
    assert [c.is_last for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert all(c.sample_rate == 24000 and c.samples.size > 0 for c in chunks)
    whole = kokoro.synthesize(text, kokoro.builtin_voice(), OPTIONS)
    assert np.array_equal(np.concatenate([c.samples for c in chunks]), whole)


def test_stream_renders_the_first_sentence_alone_so_audio_starts_early(kokoro: KokoroEngine) -> None:
    text = "The story starts. It goes on a little. Then it ends here."
    phonemes = kokoro.phonemes(text)
    assert len(phonemes) == 2 and phonemes[0].endswith(".") and phonemes[0].count(".") == 1
    chunks = list(kokoro.stream(text, kokoro.builtin_voice(), OPTIONS))
    total = sum(c.samples.size for c in chunks)
    first_s = chunks[0].samples.size / 24000
    assert first_s > 0.6 and chunks[0].samples.size < 0.45 * total  # one sentence (plus its pause) of three
    assert 20 * np.log10(rms(chunks[0].samples)) > -35


def test_cancel_stops_between_chunks(kokoro: KokoroEngine) -> None:
    token = CancelToken()
    stream = kokoro.stream("你好。Hello.", kokoro.builtin_voice(), OPTIONS, token)
    next(stream)
    token.cancel()
    with pytest.raises(CancelledError):
        next(stream)


def test_speed_changes_duration(kokoro: KokoroEngine) -> None:
    voice = kokoro.builtin_voice()
    normal = kokoro.synthesize(EN, voice, OPTIONS)
    fast = kokoro.synthesize(EN, voice, OPTIONS.replace(speed=1.5))
    assert fast.size < 0.8 * normal.size


def test_voices_differ_and_aliases_resolve(kokoro: KokoroEngine) -> None:
    assert kokoro.builtin_voices()[0] == "jm_kumo"
    assert kokoro.builtin_voice("female").voice_id == "jf_alpha"
    male = kokoro.synthesize(ZH, kokoro.builtin_voice("jm_kumo"), OPTIONS)
    female = kokoro.synthesize(ZH, kokoro.builtin_voice("jf_alpha"), OPTIONS)
    assert median_f0_hz(female, 24000) > 1.3 * median_f0_hz(male, 24000)


def test_dictionary_override_changes_the_reading(kokoro: KokoroEngine) -> None:
    text = "重要的事情。"
    forced = (("重", "chong2"),)
    assert "ꭧʊ↘ŋ" in kokoro.phonemes(text)[0]
    assert "ꭧʰʊ↗ŋ" in kokoro.phonemes(text, forced)[0]
    plain = kokoro.synthesize(text, kokoro.builtin_voice(), OPTIONS)
    overridden = kokoro.synthesize(text, kokoro.builtin_voice(), OPTIONS.replace(pronunciations=forced))
    assert plain.tobytes() != overridden.tobytes()


@pytest.mark.parametrize("text", ["", "   ", "，。！？", "……"])
def test_nothing_to_say(kokoro: KokoroEngine, text: str) -> None:
    with pytest.raises(NothingToSayError):
        kokoro.synthesize(text, kokoro.builtin_voice(), OPTIONS)


def test_unknown_voice(kokoro: KokoroEngine) -> None:
    with pytest.raises(UnknownVoiceError, match="jm_kumo"):
        kokoro.builtin_voice("nobody")


def test_text_over_the_limit_is_refused(kokoro: KokoroEngine) -> None:
    with pytest.raises(TextTooLongError, match="20000"):
        kokoro.synthesize("好" * 20_001, kokoro.builtin_voice(), OPTIONS)


def test_long_text_is_split_into_model_sized_pieces(kokoro: KokoroEngine) -> None:
    pieces = kokoro.phonemes("今天天气很好，我们去公园散步吧。" * 40)
    assert len(pieces) > 5 and all(len(p) <= 510 for p in pieces)
