"""Speaker embedding: Kaldi filterbank against torchaudio's values, ONNX plumbing on a tiny model, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from glmtts.engines.glm.speaker import SpeakerEncoder, kaldi_fbank
from glmtts.errors import CheckpointError, InvalidAudioError
from tests.support.glm.make_tiny import write_campplus

DATA = Path(__file__).resolve().parents[2] / "data" / "glm"


def _fbank_signal() -> np.ndarray:
    """The 1 s chirp + tone whose torchaudio ``kaldi.fbank`` is stored in data/kaldi_fbank_ref.npz."""
    t = np.arange(16000) / 16000.0
    return (0.3 * np.sin(2 * np.pi * (150 + 300 * t) * t) + 0.05 * np.sin(2 * np.pi * 2500 * t)).astype(
        np.float32
    )


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> SpeakerEncoder:
    path = tmp_path_factory.mktemp("spk") / "campplus.onnx"
    write_campplus(path, seed=1)
    return SpeakerEncoder.load(path)


def test_fbank_matches_torchaudio_kaldi():
    # data/kaldi_fbank_ref.npz: torchaudio 2.11 compliance.kaldi.fbank(num_mel_bins=80, dither=0) of _fbank_signal()
    with np.load(DATA / "kaldi_fbank_ref.npz") as data:
        reference = data["fbank"]
    ours = kaldi_fbank(_fbank_signal())
    assert ours.shape == reference.shape == (98, 80)
    loud = reference > -5.0
    assert np.abs(ours - reference)[loud].max() < 1e-4
    assert np.median(np.abs(ours - reference)) < 1e-5


def test_embedding_is_192_d_deterministic_and_gain_invariant(encoder):
    rng = np.random.default_rng(0)
    audio = _fbank_signal() + 0.05 * rng.standard_normal(16000).astype(
        np.float32
    )  # no bin near the log floor
    first, again = encoder.embed(audio), encoder.embed(audio.copy())
    assert first.shape == (192,) and first.dtype == np.float32
    assert np.array_equal(first, again)
    # log filterbanks shift by a constant under gain, and the per-utterance mean removes it
    np.testing.assert_allclose(encoder.embed(audio * 0.5), first, rtol=1e-3, atol=1e-3)
    other = encoder.embed(rng.standard_normal(16000).astype(np.float32) * 0.1)
    assert not np.allclose(other, first, atol=1e-2)


def test_too_short_audio_and_bad_models(encoder, tmp_path):
    with pytest.raises(InvalidAudioError):
        encoder.embed(np.zeros(100, dtype=np.float32))
    with pytest.raises(CheckpointError, match="campplus"):
        SpeakerEncoder.load(tmp_path / "campplus.onnx")
    (tmp_path / "campplus.onnx").write_bytes(b"not an onnx model")
    with pytest.raises(CheckpointError, match="cannot load"):
        SpeakerEncoder.load(tmp_path / "campplus.onnx")
