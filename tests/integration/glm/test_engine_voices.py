"""Voice features as upstream computes them: all prompt tokens and frames, "." for no transcript, channel 0."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glmtts.audio import resample, to_mono, validate_prompt  # noqa: E402
from glmtts.engines.base import SynthesisOptions  # noqa: E402
from tests.conftest import harmonic_tone  # noqa: E402
from tests.support.glm.spies import GenerateSpy  # noqa: E402


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@pytest.mark.parametrize(("duration_s", "rate"), [(0.7, 24000), (1.37, 44100), (2.01, 16000)])
def test_every_prompt_token_and_frame_is_kept_and_the_flow_emits_the_partial_token(
    glm_engine, monkeypatch, duration_s: float, rate: int
) -> None:
    clip = harmonic_tone(duration_s, rate, f0_hz=170.0)
    validate_prompt(clip, rate)  # upstream accepts such clips (0.7 s included), so do the default limits
    features = glm_engine.prepare_voice(clip, rate, "今天天气很好。").features
    n_tokens, n_frames = features["speech_tokens"].size, features["mel"].shape[0]
    assert n_tokens == _ceil_div(25 * clip.size, rate)  # ceil(25·d): the tokenizer pads to whole tokens
    assert n_frames == _ceil_div(clip.size * 24000, rate) // 480  # floor(50·d) frames of the 24 kHz clip
    assert 2 * n_tokens - n_frames in (1, 2)  # these durations all end inside a token
    voice = glm_engine.prepare_voice(clip, rate, "今天天气很好。")
    spy = GenerateSpy(monkeypatch, glm_engine._pipeline.synthesizer.scheduler)
    audio = glm_engine.synthesize("你好。", voice, SynthesisOptions(seed=4))
    (call,) = spy.calls
    assert call[2] == features["speech_tokens"].tolist()  # the last, partial token reaches the LLM too
    n_new = sum(0 <= token < 1024 for token in call[3])
    total = n_tokens + n_new
    assert audio.size == (int(total / 25 * 50) - n_frames) * 480  # upstream's frame count, lead frames in


def test_no_transcript_gives_the_dot_prompt_and_still_feeds_the_prompt_speech(
    glm_engine, monkeypatch
) -> None:
    clip = harmonic_tone(1.5, 24000, f0_hz=150.0)
    tokenizer = glm_engine._pipeline.tokenizer
    for transcript in (None, "", "   "):
        features = glm_engine.prepare_voice(clip, 24000, transcript).features
        assert features["prompt_text_ids"].tolist() == tokenizer.encode(". ")
    voice = glm_engine.prepare_voice(clip, 24000, None)
    lm = glm_engine._pipeline.synthesizer.lm
    spy = GenerateSpy(monkeypatch, glm_engine._pipeline.synthesizer.scheduler)
    glm_engine.synthesize("好。", voice, SynthesisOptions(seed=1))
    prompt_text, text_ids, prompt_speech, _ = spy.calls[0]
    assert prompt_text == tokenizer.encode(". ")
    assert prompt_speech == voice.features["speech_tokens"].tolist() and prompt_speech
    layout = lm.build_input_ids(prompt_text, text_ids, prompt_speech)
    assert layout[-len(prompt_speech) :] == [token + lm.special.ats for token in prompt_speech]


def test_stored_features_without_prompt_text_get_the_dot_prompt(glm_engine, monkeypatch) -> None:
    voice = glm_engine.prepare_voice(harmonic_tone(1.5, 24000), 24000, "好。")
    old = type(voice)(
        voice.voice_id, "glm", None, features={**voice.features, "prompt_text_ids": np.zeros(0)}
    )
    spy = GenerateSpy(monkeypatch, glm_engine._pipeline.synthesizer.scheduler)
    glm_engine.synthesize("好。", old, SynthesisOptions(seed=1))
    assert spy.calls[0][0] == glm_engine._pipeline.tokenizer.encode(". ")
    assert spy.calls[0][2] == voice.features["speech_tokens"].tolist()


def test_stereo_prompt_tokens_come_from_channel_0_mel_and_speaker_from_the_mix(glm_engine) -> None:
    left = harmonic_tone(2.0, 44100, f0_hz=140.0, seed=1)
    right = harmonic_tone(2.0, 44100, f0_hz=310.0, seed=2)
    stereo = np.stack([left, right], axis=1)
    validate_prompt(stereo, 44100)
    both = glm_engine.prepare_voice(stereo, 44100, "好。").features
    first = glm_engine.prepare_voice(left, 44100, "好。").features
    mix = glm_engine.prepare_voice(to_mono(stereo), 44100, "好。").features
    assert np.array_equal(both["speech_tokens"], first["speech_tokens"])
    assert np.array_equal(both["mel"], mix["mel"]) and np.array_equal(both["embedding"], mix["embedding"])
    assert not np.allclose(both["mel"], first["mel"])


def test_prompt_resampling_is_the_sinc_resampler(glm_engine, monkeypatch) -> None:
    """The speech tokenizer gets the 16 kHz clip of :func:`glmtts.audio.resample` (not another filter)."""
    clip = harmonic_tone(1.2, 22050, f0_hz=200.0)
    seen = []
    tokenizer = glm_engine._voices.speech_tokenizer
    original = tokenizer.tokenize
    monkeypatch.setattr(tokenizer, "tokenize", lambda samples: seen.append(samples) or original(samples))
    glm_engine.prepare_voice(clip, 22050, "好。")
    np.testing.assert_array_equal(seen[0], resample(clip, 22050, 16000))
