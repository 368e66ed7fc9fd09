"""Speaker embedding: CAMPPlus (ONNX, via onnxruntime) over 80-bin Kaldi filterbanks of 16 kHz audio.

As upstream: Kaldi ``fbank`` (25 ms Povey windows every 10 ms, pre-emphasis 0.97, DC removal, 512-point
power spectrum, 80 triangular mel bins from 20 Hz to Nyquist, natural log, no dither), the per-utterance
mean is subtracted over time, and the ONNX model maps ``[1, T, 80]`` to a ``[1, 192]`` embedding. The
filterbank is implemented here in numpy (no torchaudio dependency).

Usage::

    encoder = SpeakerEncoder.load(layout.campplus_path, device="cpu", n_threads=1)
    embedding = encoder.embed(samples_16k)  # np.ndarray [192] float32
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glmtts.engines.glm.checkpoint import CAMPPLUS_HINT
from glmtts.errors import CheckpointError, InvalidAudioError

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class FbankOptions:
    """Kaldi filterbank settings (torchaudio ``compliance.kaldi.fbank`` defaults, 80 bins, no dither)."""

    sample_rate: int = SAMPLE_RATE
    n_mels: int = 80
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    preemphasis: float = 0.97
    low_freq_hz: float = 20.0
    window_power: float = 0.85

    @property
    def window_size(self) -> int:
        return int(self.sample_rate * self.frame_length_ms / 1000)

    @property
    def window_shift(self) -> int:
        return int(self.sample_rate * self.frame_shift_ms / 1000)

    @property
    def fft_size(self) -> int:
        return 1 << (self.window_size - 1).bit_length()


def _kaldi_mel(freq_hz: np.ndarray) -> np.ndarray:
    return (1127.0 * np.log(1.0 + freq_hz / np.float32(700.0))).astype(np.float32)


def kaldi_mel_banks(options: FbankOptions) -> np.ndarray:
    """Triangular filters ``[n_mels, fft_size // 2 + 1]`` on the Kaldi mel scale (last column zero).

    The bin edges use float64 scalars and the per-bin arithmetic float32, as Kaldi's torch port does.
    """
    n_bins = options.fft_size // 2
    mel_low = 1127.0 * np.log(1.0 + options.low_freq_hz / 700.0)
    mel_high = 1127.0 * np.log(1.0 + options.sample_rate / 2 / 700.0)
    delta = (mel_high - mel_low) / (options.n_mels + 1)
    index = np.arange(options.n_mels, dtype=np.float32)[:, None]
    left = (mel_low + index * np.float32(delta)).astype(np.float32)
    center = (mel_low + (index + 1) * np.float32(delta)).astype(np.float32)
    right = (mel_low + (index + 2) * np.float32(delta)).astype(np.float32)
    bin_width = np.float32(options.sample_rate / options.fft_size)
    mel = _kaldi_mel(bin_width * np.arange(n_bins, dtype=np.float32))[None, :]
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    banks = np.maximum(np.float32(0.0), np.minimum(up, down))
    return np.pad(banks, ((0, 0), (0, 1))).astype(np.float32)


def kaldi_fbank(samples: np.ndarray, options: FbankOptions | None = None) -> np.ndarray:
    """Log mel filterbank energies ``[n_frames, n_mels]`` of mono float audio (Kaldi ``snip_edges``)."""
    options = options or FbankOptions()
    wave = np.asarray(samples, dtype=np.float32)
    size, shift = options.window_size, options.window_shift
    if wave.ndim != 1 or wave.size < size:
        raise InvalidAudioError(f"speaker encoder needs at least {size} mono samples, got shape {wave.shape}")
    n_frames = 1 + (wave.size - size) // shift
    starts = np.arange(n_frames)[:, None] * shift
    frames = wave[starts + np.arange(size)[None, :]]
    frames = frames - frames.mean(axis=1, keepdims=True)
    previous = np.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
    frames = frames - options.preemphasis * previous
    window = np.power(np.hanning(size), options.window_power).astype(np.float32)
    frames = np.pad(frames * window, ((0, 0), (0, options.fft_size - size)))
    power = np.abs(np.fft.rfft(frames, axis=1)).astype(np.float32) ** 2
    energies = power @ kaldi_mel_banks(options).T
    return np.log(np.maximum(energies, np.finfo(np.float32).eps)).astype(np.float32)


class SpeakerEncoder:
    """CAMPPlus speaker encoder run by onnxruntime."""

    def __init__(self, session: Any, options: FbankOptions | None = None) -> None:
        self.session = session
        self.options = options or FbankOptions()
        self._input_name = session.get_inputs()[0].name

    @classmethod
    def load(cls, path: Path, device: str = "cpu", n_threads: int = 1) -> SpeakerEncoder:
        """Open ``campplus.onnx``; uses the CUDA provider when ``device`` is CUDA and it is available."""
        import onnxruntime

        if not path.is_file():
            raise CheckpointError(f"missing speaker encoder {path}; {CAMPPLUS_HINT}")
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = max(1, n_threads)
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise CheckpointError(f"cannot load speaker encoder {path}: {exc}; {CAMPPLUS_HINT}") from exc
        encoder = cls(session)
        encoder._check_output()
        return encoder

    def _check_output(self) -> None:
        shape = self.session.get_outputs()[0].shape
        if not shape or (shape[-1] not in (192, None) and not isinstance(shape[-1], str)):
            raise CheckpointError(
                f"speaker encoder output has shape {shape}; a 192-d CAMPPlus model is expected"
            )

    def embed(self, samples_16k: np.ndarray) -> np.ndarray:
        """192-d embedding ``[192]`` (float32) of mono 16 kHz audio."""
        features = kaldi_fbank(samples_16k, self.options)
        features = features - features.mean(axis=0, keepdims=True)
        output = self.session.run(None, {self._input_name: features[None].astype(np.float32)})[0]
        embedding = np.asarray(output, dtype=np.float32).reshape(-1)
        if embedding.size != 192:
            raise CheckpointError(f"speaker encoder returned {embedding.size} values, expected 192")
        return embedding
