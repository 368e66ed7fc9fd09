"""The torchaudio-style windowed-sinc resampler against the interpolation sum evaluated from its definition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glmtts.audio import resample
from glmtts.errors import InvalidAudioError

RATE_PAIRS = [
    (44100, 16000),
    (48000, 24000),
    (8000, 16000),
    (22050, 24000),
    (16000, 24000),
    (24000, 16000),
    (44100, 48000),
    (11025, 16000),
    (32000, 24000),
]


def _definition(
    x: np.ndarray, rate_in: int, rate_out: int, width: int = 6, rolloff: float = 0.99
) -> np.ndarray:
    """y[j] = Σ_i x[i]·(f_c/f_in)·sinc(t)·cos²(πt/2L)·[|t| ≤ L], t = f_c·(i/f_in − j/f_out), summed naively."""
    cutoff = rolloff * min(rate_in, rate_out)
    n_out = math.ceil(x.size * rate_out / rate_in)
    times_in = np.arange(x.size, dtype=np.float64) / rate_in
    out = np.empty(n_out)
    for j in range(n_out):
        t = cutoff * (times_in - j / rate_out)
        window = np.where(np.abs(t) <= width, np.cos(np.pi * t / (2 * width)) ** 2, 0.0)
        out[j] = np.sum(x * np.sinc(t) * window) * cutoff / rate_in
    return out


def _tone(freq: float, duration_s: float, rate: int) -> np.ndarray:
    t = np.arange(int(duration_s * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize(("rate_in", "rate_out"), RATE_PAIRS)
def test_matches_the_interpolation_sum(rate_in: int, rate_out: int) -> None:
    noise = np.random.default_rng(rate_in + rate_out).standard_normal(int(0.025 * rate_in) + 7)
    clip = noise.astype(np.float32)
    out = resample(clip, rate_in, rate_out)
    expected = _definition(clip.astype(np.float64), rate_in, rate_out)
    assert out.dtype == np.float32 and out.shape == expected.shape
    assert out.size == math.ceil(clip.size * rate_out / rate_in)
    assert np.abs(out - expected).max() <= 1e-6 * max(1.0, np.abs(expected).max())


@pytest.mark.parametrize(("rate_in", "rate_out"), [(44100, 16000), (8000, 16000), (22050, 24000)])
def test_passband_tone_keeps_level_and_pitch_and_alias_band_is_removed(rate_in: int, rate_out: int) -> None:
    low = resample(_tone(440.0, 1.0, rate_in), rate_in, rate_out)
    core = low[rate_out // 10 : -rate_out // 10]  # away from the zero-padded edges
    assert abs(np.sqrt(2 * np.mean(core.astype(np.float64) ** 2)) - 0.5) < 0.005
    spectrum = np.abs(np.fft.rfft(core * np.hanning(core.size)))
    peak_hz = np.fft.rfftfreq(core.size, 1.0 / rate_out)[int(np.argmax(spectrum))]
    assert abs(peak_hz - 440.0) < 2.0
    if rate_in > rate_out:  # a tone above the output Nyquist frequency must not fold back
        high = resample(_tone(0.47 * rate_in, 1.0, rate_in), rate_in, rate_out)
        assert np.abs(high[rate_out // 10 : -rate_out // 10]).max() < 0.01


def test_channels_are_resampled_independently() -> None:
    rng = np.random.default_rng(3)
    stereo = rng.standard_normal((4410, 2)).astype(np.float32)
    both = resample(stereo, 44100, 16000)
    assert both.shape == (1600, 2)
    for channel in range(2):
        np.testing.assert_array_equal(both[:, channel], resample(stereo[:, channel], 44100, 16000))


def test_same_rate_is_identity_and_bad_inputs_are_errors() -> None:
    clip = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(resample(clip, 16000, 16000), clip)
    assert resample(np.zeros(0, np.float32), 44100, 16000).size == 0
    with pytest.raises(InvalidAudioError, match="sample rates"):
        resample(clip, 0, 16000)
    with pytest.raises(InvalidAudioError, match="shape"):
        resample(np.zeros((2, 2, 2), np.float32), 44100, 16000)
    with pytest.raises(InvalidAudioError, match="common rate"):
        resample(clip, 44100, 16001)
