"""Speech tokenizer against the official ids, its 25 Hz rate and 30 s segmentation, and bad inputs."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.glm.speech_tokenizer import SpeechTokenizer  # noqa: E402
from glmtts.errors import CheckpointError, InvalidAudioError  # noqa: E402
from tests.support.glm.fixtures import REF_CKPT  # noqa: E402
from tests.support.glm.reference import recorded_case  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer() -> SpeechTokenizer:
    return SpeechTokenizer.load(REF_CKPT / "speech_tokenizer")


_recorded = recorded_case("speech_tokenizer")


@pytest.fixture(scope="module")
def case(_recorded):
    data = dict(_recorded)
    data["audio"] = data["audio_16k_int16"][0].astype(np.float32) / 32768.0
    return data


def test_ids_identical_to_official(tokenizer, case):
    tokens = tokenizer.tokenize(case["audio"])
    assert tokens == case["tokens"].tolist()
    assert len(tokens) == int(np.ceil(case["audio"].size / 640))  # 25 tokens/s (padded to 640 samples)


def test_ids_identical_without_block_causal_mask(tokenizer, case):
    full_attention = dataclasses.replace(tokenizer.settings, causal_block_size=None)
    variant = SpeechTokenizer(tokenizer.encoder, full_attention, tokenizer.feature_extractor)
    assert variant.tokenize(case["audio"]) == case["tokens_no_block_mask"].tolist()


def test_features_match_official(tokenizer, case):
    features, mask = tokenizer.features([case["audio"]])
    assert np.array_equal(mask.numpy(), case["attention_mask"])
    # float32 STFT rounding differs per FFT kernel set (AVX2 / AVX-512; measured up to 8e-6 on features
    # of magnitude ~1); a wrong window, filterbank or scaling is off by more than 1e-2.
    np.testing.assert_allclose(features.numpy(), case["input_features"], atol=1e-4)


def test_thirty_second_segmentation(tokenizer):
    rng = np.random.default_rng(0)
    seconds = np.arange(31 * 16000) / 16000.0
    audio = 0.3 * np.sin(2 * np.pi * (120 + 40 * np.sin(seconds)) * seconds) + 0.02 * rng.standard_normal(
        seconds.size
    )
    audio = audio.astype(np.float32)
    tokens = tokenizer.tokenize(audio)
    head, tail = tokenizer.tokenize(audio[: 30 * 16000]), tokenizer.tokenize(audio[30 * 16000 :])
    assert len(head) == 750 and len(tail) == 25
    assert tokens == head + tail


def test_bad_audio_and_checkpoint(tokenizer, tmp_path):
    with pytest.raises(InvalidAudioError):
        tokenizer.tokenize(np.zeros(0, dtype=np.float32))
    with pytest.raises(InvalidAudioError):
        tokenizer.tokenize(np.zeros((2, 100), dtype=np.float32))
    broken = tmp_path / "speech_tokenizer"
    shutil.copytree(REF_CKPT / "speech_tokenizer", broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="safetensors"):
        SpeechTokenizer.load(broken)
