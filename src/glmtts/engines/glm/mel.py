"""Prompt mel spectrogram: the 80-bin log-mel the flow model is conditioned on.

It reproduces upstream's HiFi-GAN style extractor exactly: reflect padding of ``(n_fft - hop) / 2`` samples
on each side, a periodic Hann window, ``center=False`` STFT, magnitude ``sqrt(re² + im² + 1e-9)``, a
Slaney-normalised mel filterbank (librosa's default, computed here without librosa) and
``log(clamp(x, 1e-5))``. A clip of ``N`` samples gives ``N // hop`` frames (50 frames per second at both
presets).

Usage::

    extractor = MelExtractor(24000)
    mel = extractor(wave)  # wave [1, T] float at 24 kHz -> mel [1, T // 480, 80]
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from glmtts.errors import InvalidAudioError, InvalidOptionError

if TYPE_CHECKING:
    import torch

_LOGGER = logging.getLogger(__name__)

#: Magnitudes below this are clamped before the log (upstream value).
_LOG_FLOOR = 1e-5
#: Added under the square root of the power spectrum (upstream value).
_MAGNITUDE_EPS = 1e-9


@dataclass(frozen=True)
class MelPreset:
    """STFT and filterbank settings of one output sample rate."""

    sample_rate: int
    n_fft: int
    hop_length: int
    win_length: int
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 8000.0

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.hop_length


def mel_preset(sample_rate: int) -> MelPreset:
    """Return the upstream preset for ``sample_rate`` (24 kHz for HiFT, 32 kHz for Vocos2D).

    Raises:
        InvalidOptionError: for any other sample rate.
    """
    if sample_rate == 24000:
        return MelPreset(sample_rate=24000, n_fft=1920, hop_length=480, win_length=1920)
    if sample_rate == 32000:
        return MelPreset(sample_rate=32000, n_fft=2560, hop_length=640, win_length=2560)
    raise InvalidOptionError(
        f"unsupported sample rate {sample_rate} Hz for the GLM-TTS mel; use 24000 or 32000"
    )


def _hz_to_slaney_mel(freq_hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above."""
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    log_step = math.log(6.4) / 27.0
    freq = np.asarray(freq_hz, dtype=np.float64)
    linear = freq / f_sp
    safe = np.maximum(freq, min_log_hz)
    return np.where(freq >= min_log_hz, min_log_mel + np.log(safe / min_log_hz) / log_step, linear)


def _slaney_mel_to_hz(mels: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_hz_to_slaney_mel`."""
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    log_step = math.log(6.4) / 27.0
    mel = np.asarray(mels, dtype=np.float64)
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(log_step * (mel - min_log_mel)), f_sp * mel)


def slaney_mel_filterbank(preset: MelPreset) -> np.ndarray:
    """Triangular mel filters ``[n_mels, n_fft // 2 + 1]`` with Slaney area normalisation (float32).

    Matches ``librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax)`` with its defaults
    (``htk=False, norm='slaney'``).
    """
    fft_freqs = np.linspace(0.0, preset.sample_rate / 2.0, preset.n_fft // 2 + 1)
    mel_edges = np.linspace(
        _hz_to_slaney_mel(np.array(preset.fmin)), _hz_to_slaney_mel(np.array(preset.fmax)), preset.n_mels + 2
    )
    edge_hz = _slaney_mel_to_hz(mel_edges)
    widths = np.diff(edge_hz)
    ramps = edge_hz[:, None] - fft_freqs[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edge_hz[2:] - edge_hz[:-2]))[:, None]
    return weights.astype(np.float32)


class MelExtractor:
    """Waveform → log-mel ``[1, T_mel, 80]`` as the flow model expects it.

    Args:
        sample_rate: 24000 (HiFT) or 32000 (Vocos2D); anything else raises :class:`InvalidOptionError`.
        device: where the STFT runs and the result lives.
        dtype: dtype of the returned mel; the transform itself always runs in float32.
    """

    def __init__(
        self,
        sample_rate: int = 24000,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | None = None,
    ) -> None:
        import torch

        self.preset = mel_preset(sample_rate)
        self.device = torch.device(device)
        self.dtype = dtype if dtype is not None else torch.float32
        self._filterbank = torch.from_numpy(slaney_mel_filterbank(self.preset)).to(self.device)
        self._window = torch.hann_window(self.preset.win_length, periodic=True, device=self.device)

    @property
    def sample_rate(self) -> int:
        return self.preset.sample_rate

    @property
    def min_samples(self) -> int:
        """Shortest accepted input: reflect padding needs more samples than it pads."""
        return (self.preset.n_fft - self.preset.hop_length) // 2 + 1

    def n_frames(self, n_samples: int) -> int:
        """Number of mel frames produced for ``n_samples`` input samples (``n_samples // hop``)."""
        return n_samples // self.preset.hop_length

    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        """Compute the log-mel of ``wave`` (``[1, T]`` or ``[T]``) at :attr:`sample_rate`.

        Returns:
            ``[1, T // hop, n_mels]`` in :attr:`dtype` on :attr:`device`.
        """
        import torch
        import torch.nn.functional as F

        samples = wave.reshape(1, -1) if wave.dim() == 1 else wave
        if samples.dim() != 2 or samples.shape[0] != 1:
            raise InvalidAudioError(f"mel input must be mono [1, T], got shape {tuple(wave.shape)}")
        if samples.shape[1] < self.min_samples:
            raise InvalidAudioError(
                f"audio too short for the mel: {samples.shape[1]} samples, need at least {self.min_samples}"
            )
        preset = self.preset
        samples = samples.to(device=self.device, dtype=torch.float32)
        pad = (preset.n_fft - preset.hop_length) // 2
        padded = F.pad(samples.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
        spec = torch.stft(
            padded,
            preset.n_fft,
            hop_length=preset.hop_length,
            win_length=preset.win_length,
            window=self._window,
            center=False,
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        spec = torch.view_as_real(spec)
        magnitude = torch.sqrt(spec.pow(2).sum(-1) + _MAGNITUDE_EPS)
        mel = torch.matmul(self._filterbank, magnitude)
        log_mel = torch.log(torch.clamp(mel, min=_LOG_FLOOR))
        _LOGGER.debug("mel: %d samples -> %d frames", samples.shape[1], log_mel.shape[-1])
        return log_mel.transpose(1, 2).to(self.dtype)
