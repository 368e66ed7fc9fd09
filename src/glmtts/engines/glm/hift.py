"""HiFT vocoder (CosyVoice2 NSF-HiFiGAN + iSTFT): 80-bin mel at 50 fps → 24 kHz waveform.

Loads ``hift/hift.pt`` with ``torch.load(weights_only=True)`` and accepts both weight-norm key spellings:
``*.parametrizations.weight.original0/1`` (current torch, the released file) and the legacy
``*.weight_g`` / ``*.weight_v``. Channel widths are read from the weights; the rest are the official
CosyVoice2 24 kHz hyper-parameters (:class:`HiFTConfig`). Weight norm is folded into plain weights after
loading (same numbers, less work per call).

Usage::

    vocoder = HiFTVocoder.from_file(ckpt / "hift" / "hift.pt", device="cpu", dtype=torch.float32)
    wave = vocoder(mel, generator=torch.Generator().manual_seed(0))  # mel [1, 80, T] -> [1, T * 480]
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from glmtts.engines.glm.hift_source import ConvF0Predictor, HarmonicSource, HiFTNoise, phase_offset_for
from glmtts.engines.glm.state_dicts import check_state_dict, read_state_dict, require_tensor
from glmtts.engines.glm.weight_norm import (
    WNConv1d,
    WNConvTranspose1d,
    checkpoint_shapes,
    fold_weight_norm,
    to_parametrization_keys,
)
from glmtts.errors import InvalidAudioError

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class HiFTConfig:
    """HiFT hyper-parameters; defaults are the official CosyVoice2 24 kHz ones."""

    in_channels: int = 80
    base_channels: int = 512
    f0_channels: int = 512
    n_harmonics: int = 8
    sample_rate: int = 24000
    nsf_alpha: float = 0.1
    nsf_sigma: float = 0.003
    nsf_voiced_threshold: float = 10.0
    upsample_rates: tuple[int, ...] = (8, 5, 3)
    upsample_kernel_sizes: tuple[int, ...] = (16, 11, 7)
    istft_n_fft: int = 16
    istft_hop: int = 4
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilations: tuple[int, ...] = (1, 3, 5)
    source_resblock_kernel_sizes: tuple[int, ...] = (7, 7, 11)
    lrelu_slope: float = 0.1
    audio_limit: float = 0.99

    @property
    def samples_per_frame(self) -> int:
        return int(np.prod(self.upsample_rates)) * self.istft_hop

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor], source: Path) -> HiFTConfig:
        """Official values with the channel widths taken from the weights."""
        conv_pre = require_tensor(state, "conv_pre.parametrizations.weight.original1", source, 3)
        f0_conv = require_tensor(state, "f0_predictor.condnet.0.parametrizations.weight.original1", source, 3)
        return cls(
            in_channels=conv_pre.shape[1], base_channels=conv_pre.shape[0], f0_channels=f0_conv.shape[0]
        )


class Snake(nn.Module):
    """``x + sin²(αx) / (α + 1e-9)`` with a learned per-channel α."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = self.alpha.unsqueeze(0).unsqueeze(-1)
        return x + (1.0 / (alpha + 1e-9)) * torch.sin(x * alpha).pow(2)


class SnakeResBlock(nn.Module):
    """Three (Snake → dilated conv → Snake → conv) residual units."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]) -> None:
        super().__init__()

        def conv(dilation: int) -> nn.Module:
            padding = (kernel_size * dilation - dilation) // 2
            return WNConv1d(channels, channels, kernel_size, dilation=dilation, padding=padding)

        self.convs1 = nn.ModuleList(conv(d) for d in dilations)
        self.convs2 = nn.ModuleList(conv(1) for _ in dilations)
        self.activations1 = nn.ModuleList(Snake(channels) for _ in dilations)
        self.activations2 = nn.ModuleList(Snake(channels) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for act1, conv1, act2, conv2 in zip(
            self.activations1, self.convs1, self.activations2, self.convs2, strict=True
        ):
            x = conv2(act2(conv1(act1(x)))) + x
        return x


class HiFTGenerator(nn.Module):
    """The HiFT network; parameter names match upstream's state dict."""

    def __init__(self, config: HiFTConfig) -> None:
        super().__init__()
        self.config = config
        base = config.base_channels
        self.m_source = HarmonicSource(
            config.sample_rate,
            config.samples_per_frame,
            config.n_harmonics,
            config.nsf_alpha,
            config.nsf_sigma,
            config.nsf_voiced_threshold,
        )
        self.conv_pre = WNConv1d(config.in_channels, base, 7, padding=3)
        self.ups = nn.ModuleList(
            WNConvTranspose1d(base >> i, base >> (i + 1), k, u, padding=(k - u) // 2)
            for i, (u, k) in enumerate(zip(config.upsample_rates, config.upsample_kernel_sizes, strict=True))
        )
        spec_channels = config.istft_n_fft + 2
        down_rates = np.cumprod([1, *config.upsample_rates[::-1][:-1]])[::-1]
        self.source_downs = nn.ModuleList()
        self.source_resblocks = nn.ModuleList()
        for i, (rate, kernel) in enumerate(zip(down_rates, config.source_resblock_kernel_sizes, strict=True)):
            out = base >> (i + 1)
            rate = int(rate)
            down = (
                nn.Conv1d(spec_channels, out, 1)
                if rate == 1
                else nn.Conv1d(spec_channels, out, rate * 2, rate, rate // 2)
            )
            self.source_downs.append(down)
            self.source_resblocks.append(SnakeResBlock(out, kernel, config.resblock_dilations))
        self.resblocks = nn.ModuleList(
            SnakeResBlock(base >> (i + 1), kernel, config.resblock_dilations)
            for i in range(len(self.ups))
            for kernel in config.resblock_kernel_sizes
        )
        self.conv_post = WNConv1d(base >> len(self.ups), spec_channels, 7, padding=3)
        self.f0_predictor = ConvF0Predictor(config.in_channels, config.f0_channels)

    def _stft(self, signal: torch.Tensor) -> torch.Tensor:
        n_fft, hop = self.config.istft_n_fft, self.config.istft_hop
        window = torch.hann_window(n_fft, periodic=True, device=signal.device)
        spec = torch.stft(signal, n_fft, hop, n_fft, window=window, return_complex=True)
        return torch.cat([spec.real, spec.imag], dim=1)

    def _istft(self, log_magnitude: torch.Tensor, phase_raw: torch.Tensor) -> torch.Tensor:
        n_fft, hop = self.config.istft_n_fft, self.config.istft_hop
        magnitude = torch.clip(torch.exp(log_magnitude), max=1e2)
        phase = torch.sin(phase_raw)
        spec = torch.complex(magnitude * torch.cos(phase), magnitude * torch.sin(phase))
        window = torch.hann_window(n_fft, periodic=True, device=spec.device)
        return torch.istft(spec, n_fft, hop, n_fft, window=window)

    def decode(self, mel: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        """Mel ``[B, 80, T]`` + excitation ``[B, 1, T*480]`` (float32) → waveform ``[B, T*480]`` float32."""
        source_spec = self._stft(source.squeeze(1)).to(mel.dtype)
        x = self.conv_pre(mel)
        n_kernels = len(self.config.resblock_kernel_sizes)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, self.config.lrelu_slope))
            if i == len(self.ups) - 1:
                x = F.pad(x, (1, 0), mode="reflect")
            x = x + self.source_resblocks[i](self.source_downs[i](source_spec))
            blocks = self.resblocks[i * n_kernels : (i + 1) * n_kernels]
            x = sum((block(x) for block in blocks), torch.zeros_like(x)) / n_kernels
        # Upstream calls F.leaky_relu without a slope here, i.e. the default 0.01 (not lrelu_slope).
        x = self.conv_post(F.leaky_relu(x)).float()
        half = self.config.istft_n_fft // 2 + 1
        wave = self._istft(x[:, :half], x[:, half:])
        return torch.clamp(wave, -self.config.audio_limit, self.config.audio_limit)

    def forward(
        self, mel: torch.Tensor, noise: HiFTNoise, phase_anchor: tuple[int, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return waveform ``[B, T*480]``, excitation ``[B, 1, T*480]`` and frame phase ``[B, T, 9]``.

        ``phase_anchor = (frame, phase [B, 9])`` shifts the harmonic phase so that it equals ``phase`` at
        ``frame`` (used by streaming to continue the previous call's sines).
        """
        f0 = self.f0_predictor(mel).float()
        f0_samples = f0[:, None].repeat_interleave(self.config.samples_per_frame, dim=2).transpose(1, 2)
        offset = None
        if phase_anchor is not None:
            frame, phase = phase_anchor
            raw = self.m_source.frame_phase(f0_samples, noise.initial_phase, None)
            offset = phase_offset_for(phase.to(raw.device), raw[:, frame], self.config.samples_per_frame)
        excitation, frame_phase = self.m_source(f0_samples, noise, offset)
        source = excitation.transpose(1, 2)
        return self.decode(mel, source), source, frame_phase


@dataclass(frozen=True)
class VocoderOutput:
    """One vocoder call: waveform ``[B, T*480]`` float32, excitation and frame phase (for streaming)."""

    wave: torch.Tensor
    source: torch.Tensor
    frame_phase: torch.Tensor


class HiFTVocoder:
    """Loaded HiFT on a device/dtype; turns mel into 24 kHz audio."""

    def __init__(self, generator_module: HiFTGenerator, device: torch.device, dtype: torch.dtype) -> None:
        self.model = generator_module
        self.device = device
        self.dtype = dtype

    @property
    def config(self) -> HiFTConfig:
        return self.model.config

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def samples_per_frame(self) -> int:
        return self.config.samples_per_frame

    @classmethod
    def from_file(
        cls, path: Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
    ) -> HiFTVocoder:
        """Load ``hift.pt`` (either weight-norm spelling) onto ``device`` in ``dtype``."""
        return cls.from_state_dict(read_state_dict(path), path, device, dtype)

    @classmethod
    def from_state_dict(
        cls,
        raw_state: dict[str, torch.Tensor],
        path: Path,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> HiFTVocoder:
        """Build from an already read state dict; ``path`` only names the source in errors."""
        state = to_parametrization_keys(raw_state)
        config = HiFTConfig.from_state_dict(state, path)
        with torch.device("meta"):
            model = HiFTGenerator(config)
        check_state_dict(checkpoint_shapes(model), state, path)
        model.load_state_dict(fold_weight_norm(model, state), strict=True, assign=True)
        model = model.to(device=torch.device(device), dtype=dtype).eval()
        model.m_source.float()  # phase accumulation needs float32 whatever the model dtype
        _LOGGER.info("loaded HiFT from %s (base %d channels, %s)", path, config.base_channels, dtype)
        return cls(model, torch.device(device), dtype)

    def draw_noise(self, n_frames: int, generator: torch.Generator | None) -> HiFTNoise:
        """Draw the random tensors a call on ``n_frames`` mel frames needs, in upstream's order."""
        n_samples = n_frames * self.samples_per_frame
        return HiFTNoise.draw(1, n_samples, self.model.m_source.n_channels, generator, self.device)

    @torch.inference_mode()
    def vocode(
        self,
        mel: torch.Tensor,
        noise: HiFTNoise | None = None,
        generator: torch.Generator | None = None,
        phase_anchor: tuple[int, torch.Tensor] | None = None,
    ) -> VocoderOutput:
        """Mel ``[1, 80, T]`` → :class:`VocoderOutput`; random tensors from ``noise`` or ``generator``.

        ``phase_anchor`` (streaming): ``(frame index, [1, 9] phase)`` the harmonics must have at that frame.
        """
        if mel.dim() != 3 or mel.shape[1] != self.config.in_channels or mel.shape[2] < 1:
            raise InvalidAudioError(
                f"vocoder input must be [1, {self.config.in_channels}, T>0], got {tuple(mel.shape)}"
            )
        if noise is None:
            noise = self.draw_noise(mel.shape[2], generator)
        noise = dataclasses.replace(
            noise,
            initial_phase=noise.initial_phase.to(self.device, torch.float32),
            sine_noise=noise.sine_noise.to(self.device, torch.float32),
        )
        wave, source, phase = self.model(mel.to(self.device, self.dtype), noise, phase_anchor)
        return VocoderOutput(wave=wave, source=source, frame_phase=phase)

    def __call__(
        self, mel: torch.Tensor, noise: HiFTNoise | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Mel ``[1, 80, T]`` → waveform ``[1, T*480]`` float32 in [-0.99, 0.99]."""
        return self.vocode(mel, noise, generator).wave
