"""The glm engine end to end on the tiny checkpoint: audio, streaming, determinism, voices, errors, CLI."""

from __future__ import annotations

import dataclasses
import io
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.base import CancelToken, EngineConfig, SynthesisOptions, Voice  # noqa: E402
from glmtts.engines.glm.llm import LengthLimits  # noqa: E402
from glmtts.engines.glm.synthesis import SynthesisSettings  # noqa: E402
from glmtts.engines.registry import create_engine  # noqa: E402
from glmtts.errors import (  # noqa: E402
    CancelledError,
    CheckpointError,
    InvalidAudioError,
    InvalidOptionError,
    NothingToSayError,
    NotReadyError,
    UnknownVoiceError,
)
from tests.conftest import harmonic_tone  # noqa: E402
from tests.support.glm.spies import GenerateSpy, count_calls  # noqa: E402

TEXT = "你好，世界。"
LONG_TEXT = "今天天气很好，我们一起去公园散步吧，然后去吃饭。" * 2 + "明天见。"  # two segments


@pytest.fixture(scope="module")
def engine(glm_engine):
    return glm_engine


@pytest.fixture(scope="module")
def voice(engine) -> Voice:
    return engine.prepare_voice(harmonic_tone(2.5, 24000, f0_hz=180.0), 24000, "今天天气很好。")


@pytest.fixture(scope="module")
def audio(engine, voice) -> np.ndarray:
    return engine.synthesize(TEXT, voice, SynthesisOptions(seed=7))


def test_audio_is_audio(engine, audio):
    assert engine.sample_rate == 24000
    assert audio.dtype == np.float32 and np.all(np.isfinite(audio))
    n_text = len(engine._pipeline.tokenizer.encode(TEXT))
    # min/max tokens × 960 samples per token, plus the frames of the partial last prompt token
    assert 2 * n_text * 960 <= audio.size <= 4 * n_text * 960 + 2 * 480
    assert np.abs(audio).max() <= 1.0
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    assert 20 * np.log10(rms) > -60.0
    spectrum = np.abs(np.fft.rfft(audio))
    assert spectrum[1:].sum() > 10 * spectrum[0]  # not a DC offset
    assert np.mean(np.abs(np.diff(np.sign(audio))) > 0) > 0.001  # it oscillates


def test_same_seed_same_audio_other_seed_other_audio(engine, voice, audio):
    assert np.array_equal(engine.synthesize(TEXT, voice, SynthesisOptions(seed=7)), audio)
    other = engine.synthesize(TEXT, voice, SynthesisOptions(seed=8))
    assert other.size != audio.size or not np.allclose(other, audio)


def test_stream_option_picks_one_shot_or_block_path_with_the_same_tokens(engine, voice, monkeypatch):
    synthesizer = engine._pipeline.synthesizer
    spy = GenerateSpy(monkeypatch, synthesizer.scheduler)
    one_shot_calls = count_calls(monkeypatch, synthesizer.token2wav, "token2wav")
    stream_calls = count_calls(monkeypatch, synthesizer.token2wav, "stream")
    text = LONG_TEXT
    one_shot = list(engine.stream(text, voice, SynthesisOptions(seed=5)))
    n_segments = len(spy.calls)
    assert n_segments >= 2 and len(one_shot) == n_segments  # one chunk per segment
    assert [chunk.segment_index for chunk in one_shot] == list(range(n_segments))
    assert (len(one_shot_calls), len(stream_calls)) == (n_segments, 0)
    tokens_one_shot = spy.tokens()
    spy.clear()
    streamed = list(engine.stream(text, voice, SynthesisOptions(seed=5, stream=True)))
    assert (len(one_shot_calls), len(stream_calls)) == (n_segments, n_segments)
    assert spy.tokens() == tokens_one_shot  # the LLM's draws do not depend on the path
    assert streamed[-1].is_last and one_shot[-1].is_last
    n_one_shot = sum(chunk.samples.size for chunk in one_shot)
    n_streamed = sum(chunk.samples.size for chunk in streamed)
    assert abs(n_one_shot - n_streamed) <= 480 * n_segments  # frame rounding of the last block only
    again = np.concatenate(
        [c.samples for c in engine.stream(text, voice, SynthesisOptions(seed=5, stream=True))]
    )
    assert np.array_equal(again, np.concatenate([chunk.samples for chunk in streamed]))


def test_streaming_yields_before_decoding_ends(engine, voice, monkeypatch):
    synthesizer = engine._pipeline.synthesizer
    monkeypatch.setattr(
        synthesizer, "settings", SynthesisSettings(limits=LengthLimits(min_ratio=6.0, max_ratio=7.0))
    )
    spy = GenerateSpy(monkeypatch, synthesizer.scheduler)
    stream = engine.stream(TEXT, voice, SynthesisOptions(seed=3, stream=True))
    first = next(stream)
    decoded_at_first_chunk = len(spy.calls[0][3])
    rest = list(stream)
    assert first.samples.size > 0 and not first.is_last
    assert 25 <= decoded_at_first_chunk < len(spy.calls[0][3])
    assert rest[-1].is_last


def test_prompt_history_chains_segments(engine, voice, monkeypatch):
    synthesizer = engine._pipeline.synthesizer
    spy = GenerateSpy(monkeypatch, synthesizer.scheduler)
    monkeypatch.setattr(
        synthesizer, "settings", SynthesisSettings(limits=LengthLimits(min_ratio=0.5, max_ratio=1.0))
    )
    list(engine.stream(LONG_TEXT, voice, SynthesisOptions(seed=1, use_cache=True)))
    calls = spy.calls
    assert len(calls) >= 2
    base_text, base_speech = (
        voice.features["prompt_text_ids"].tolist(),
        voice.features["speech_tokens"].tolist(),
    )
    assert calls[0][0] == base_text and calls[0][2] == base_speech
    first_tokens = [t for t in calls[0][3] if 0 <= t < 1024]
    assert calls[1][0] == base_text + calls[0][1]
    assert calls[1][2] == base_speech + first_tokens
    spy.clear()
    list(engine.stream(LONG_TEXT, voice, SynthesisOptions(seed=1, use_cache=False)))
    assert spy.calls and all(call[0] == base_text and call[2] == base_speech for call in spy.calls)


def test_voice_features_are_deterministic_and_persistable(engine, voice, tmp_path):
    again = engine.prepare_voice(harmonic_tone(2.5, 24000, f0_hz=180.0), 24000, "今天天气很好。")
    assert again.voice_id == voice.voice_id
    assert all(np.array_equal(again.features[key], voice.features[key]) for key in voice.features)
    assert set(voice.features) == {"prompt_text_ids", "speech_tokens", "mel", "embedding", "mel_sample_rate"}
    assert voice.features["mel"].shape[1] == 80 and voice.features["embedding"].shape == (192,)
    buffer = io.BytesIO()
    np.savez(buffer, **voice.features)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as stored:
        restored = dataclasses.replace(voice, features={key: stored[key] for key in stored.files})
    expected = engine.synthesize("好。", voice, SynthesisOptions(seed=2))
    assert np.array_equal(engine.synthesize("好。", restored, SynthesisOptions(seed=2)), expected)


def test_builtin_voice_and_warmup(engine):
    assert engine.builtin_voices() == ("default",)
    default = engine.builtin_voice()
    assert default.builtin and default.voice_id == "default" and default.prompt_text == "这是一个测试。"
    with pytest.raises(UnknownVoiceError):
        engine.builtin_voice("alice")
    engine.warmup()
    assert engine.memory_bytes()["llm"] > 0


def test_bad_inputs_raise_typed_errors(engine, voice):
    with pytest.raises(NothingToSayError):
        engine.synthesize("。。。！", voice, SynthesisOptions())
    with pytest.raises(InvalidAudioError, match="non-empty"):
        engine.prepare_voice(np.zeros(0, np.float32), 24000, "空。")
    with pytest.raises(UnknownVoiceError):
        engine.synthesize(TEXT, Voice("af_heart", "kokoro", builtin=True), SynthesisOptions())
    broken = dataclasses.replace(voice, features={**voice.features, "embedding": np.zeros(10, np.float32)})
    with pytest.raises(UnknownVoiceError, match="embedding"):
        engine.synthesize(TEXT, broken, SynthesisOptions())
    with pytest.raises(InvalidOptionError, match="speed"):
        engine.synthesize(TEXT, voice, SynthesisOptions(speed=1.5))
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        engine.synthesize(TEXT, voice, SynthesisOptions(), cancel=token)


def test_bad_configurations(tiny_ckpt, tmp_path):
    with pytest.raises(InvalidOptionError, match="sample rate"):
        create_engine(EngineConfig(name="glm", ckpt_dir=tiny_ckpt, extra={"sample_rate": 16000}))
    unloaded = create_engine(EngineConfig(name="glm", ckpt_dir=tiny_ckpt))
    with pytest.raises(NotReadyError):
        unloaded.prepare_voice(harmonic_tone(2.0, 24000), 24000)
    broken = tmp_path / "ckpt"
    shutil.copytree(tiny_ckpt, broken)
    (broken / "flow" / "flow.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match=r"flow\.pt"):
        create_engine(EngineConfig(name="glm", ckpt_dir=broken)).load()
    with pytest.raises(InvalidOptionError):
        create_engine(EngineConfig(name="glm", ckpt_dir=tiny_ckpt, dtype="int8")).load()


def test_cli_synth_writes_a_wav(tiny_ckpt, tmp_path, capsys):
    import soundfile

    from glmtts.cli.main import main

    out = tmp_path / "out.wav"
    code = main(
        ["synth", "--engine", "glm", "--ckpt", str(tiny_ckpt), "--threads", "1", TEXT, "-o", str(out)]
    )
    assert code == 0
    samples, rate = soundfile.read(out)
    assert rate == 24000 and samples.size > 24000 * 0.5 and np.abs(samples).max() > 1e-4
