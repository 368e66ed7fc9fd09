"""Prompt mel extraction against the reference recordings (24 kHz and 32 kHz presets)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.glm.mel import MelExtractor, mel_preset, slaney_mel_filterbank  # noqa: E402
from glmtts.errors import InvalidAudioError, InvalidOptionError  # noqa: E402
from tests.support.glm.reference import recorded_case  # noqa: E402

mel_case = recorded_case("mel")


@pytest.mark.parametrize(("sample_rate", "tag"), [(24000, "24k"), (32000, "32k")])
def test_filterbank_matches_librosa_slaney(
    mel_case: dict[str, np.ndarray], sample_rate: int, tag: str
) -> None:
    filterbank = slaney_mel_filterbank(mel_preset(sample_rate))
    np.testing.assert_allclose(filterbank, mel_case[f"mel_basis_{tag}"], rtol=0, atol=1e-8)


@pytest.mark.parametrize(("sample_rate", "tag"), [(24000, "24k"), (32000, "32k")])
def test_mel_matches_reference(mel_case: dict[str, np.ndarray], sample_rate: int, tag: str) -> None:
    wave = torch.from_numpy(mel_case[f"signal_{tag}"])
    mel = MelExtractor(sample_rate)(wave).numpy()
    expected = mel_case[f"speech_feat_{tag}"]
    assert mel.shape == expected.shape == (1, wave.shape[-1] // (sample_rate // 50), 80)
    relative = np.abs(np.exp(mel) - np.exp(expected)) / np.exp(expected)
    # float32 STFTs round differently per FFT kernel set (AVX2 / AVX-512): measured up to 2.3e-5; a wrong
    # window, hop or filterbank is off by more than 1e-2.
    assert relative.max() <= 1e-4


@pytest.mark.parametrize("n_samples", [721, 959, 960, 24_000, 24_479, 24_480])
def test_frame_count_is_samples_floor_divided_by_hop(n_samples: int) -> None:
    extractor = MelExtractor(24000)
    wave = torch.randn(1, n_samples, generator=torch.Generator().manual_seed(0)) * 0.1
    mel = extractor(wave)
    assert mel.shape == (1, n_samples // 480, 80) == (1, extractor.n_frames(n_samples), 80)


def test_unsupported_rate_and_short_input_are_typed_errors() -> None:
    with pytest.raises(InvalidOptionError, match="16000"):
        MelExtractor(16000)
    with pytest.raises(InvalidAudioError, match="too short"):
        MelExtractor(24000)(torch.zeros(1, 100))
    with pytest.raises(InvalidAudioError, match="mono"):
        MelExtractor(24000)(torch.zeros(2, 48000))


def test_output_dtype_follows_the_parameter(mel_case: dict[str, np.ndarray]) -> None:
    wave = torch.from_numpy(mel_case["signal_24k"])
    mel_bf16 = MelExtractor(24000, dtype=torch.bfloat16)(wave)
    mel_fp32 = MelExtractor(24000)(wave)
    assert mel_bf16.dtype == torch.bfloat16
    assert torch.allclose(mel_bf16.float(), mel_fp32, atol=0.1)
