"""HiFT excitation: the F0 predictor and the harmonic-plus-noise source (NSF, 24 kHz variant).

The source follows upstream's ``SineGen2`` exactly, including its odd points: the random initial phase
is added to the first *sample* only and then mostly averaged away by the ``1/upsample`` linear
downsampling, and the phase is accumulated at frame rate and linearly upsampled again. Every random
tensor is passed in explicitly (:class:`HiFTNoise`) so outputs can be reproduced bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from glmtts.engines.glm.weight_norm import WNConv1d


@dataclass
class HiFTNoise:
    """The random tensors one vocoder call consumes, in upstream's draw order.

    Attributes:
        initial_phase: ``[B, n_harmonics + 1]`` uniform [0, 1) phases (column 0 is zeroed when used).
        sine_noise: ``[B, n_samples, n_harmonics + 1]`` standard normal, scaled into the additive noise.
        branch_noise: ``[B, n_samples, 1]`` standard normal; upstream draws it for a noise branch that
            inference never uses. Drawn only to keep the random stream aligned with upstream.
    """

    initial_phase: torch.Tensor
    sine_noise: torch.Tensor
    branch_noise: torch.Tensor | None = None

    @classmethod
    def draw(
        cls,
        batch: int,
        n_samples: int,
        n_channels: int,
        generator: torch.Generator | None,
        device: torch.device,
    ) -> HiFTNoise:
        """Draw the three tensors from ``generator`` (on its device) in upstream's order.

        Upstream's sine tensor is a transposed view, and ``randn_like`` fills it through that view; the
        same layout is used here so a generator seeded like upstream's global RNG gives the same numbers.
        """
        gen_device = generator.device if generator is not None else torch.device("cpu")
        phase = torch.rand(batch, n_channels, generator=generator, device=gen_device)
        sine = torch.empty(batch, n_channels, n_samples, device=gen_device).transpose(1, 2)
        sine.normal_(generator=generator)
        branch = torch.randn(batch, n_samples, 1, generator=generator, device=gen_device)
        return cls(phase.to(device), sine.to(device), branch.to(device))


class ConvF0Predictor(nn.Module):
    """Mel ``[B, 80, T]`` → F0 in Hz ``[B, T]``: five ELU convs (k3) and a linear head, absolute value."""

    def __init__(self, in_channels: int, cond_channels: int, n_layers: int = 5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for index in range(n_layers):
            layers += [
                WNConv1d(in_channels if index == 0 else cond_channels, cond_channels, 3, padding=1),
                nn.ELU(),
            ]
        self.condnet = nn.Sequential(*layers)
        self.classifier = nn.Linear(cond_channels, 1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        hidden = self.condnet(mel).transpose(1, 2)
        return torch.abs(self.classifier(hidden).squeeze(-1))


class HarmonicSource(nn.Module):
    """F0 at sample rate ``[B, L, 1]`` → excitation ``[B, L, 1]`` (``tanh(Linear(harmonics))``).

    Args:
        sample_rate: output sample rate in Hz.
        upsample: samples per mel frame (480 at 24 kHz).
        n_harmonics: overtones above the fundamental (8 → 9 sine channels).
        sine_amp: amplitude of the sines (NSF α).
        noise_std: noise level in voiced regions (NSF σ); unvoiced regions get ``sine_amp / 3``.
        voiced_threshold: F0 (Hz) above which a sample counts as voiced.
    """

    def __init__(
        self,
        sample_rate: int,
        upsample: int,
        n_harmonics: int = 8,
        sine_amp: float = 0.1,
        noise_std: float = 0.003,
        voiced_threshold: float = 10.0,
    ) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.upsample = upsample
        self.n_channels = n_harmonics + 1
        self.sine_amp = sine_amp
        self.noise_std = noise_std
        self.voiced_threshold = voiced_threshold
        self.l_linear = nn.Linear(self.n_channels, 1)

    def frame_phase(
        self, f0: torch.Tensor, initial_phase: torch.Tensor, phase_offset: torch.Tensor | None
    ) -> torch.Tensor:
        """Accumulated phase (radians) at frame rate ``[B, T, n_channels]``, before upsampling."""
        harmonics = torch.arange(1, self.n_channels + 1, dtype=f0.dtype, device=f0.device)
        cycles = (f0 * harmonics / self.sample_rate) % 1
        start = initial_phase.clone()
        start[:, 0] = 0
        cycles[:, 0, :] = cycles[:, 0, :] + start
        per_frame = F.interpolate(cycles.transpose(1, 2), scale_factor=1 / self.upsample, mode="linear")
        phase = torch.cumsum(per_frame.transpose(1, 2), dim=1) * 2 * math.pi
        if phase_offset is not None:
            phase = phase + phase_offset[:, None, :]
        return phase

    def forward(
        self, f0: torch.Tensor, noise: HiFTNoise, phase_offset: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the excitation ``[B, L, 1]`` and the frame-rate phase ``[B, T, n_channels]``.

        ``phase_offset`` (``[B, n_channels]`` radians, default none) shifts every harmonic's frame phase,
        which lets a streaming caller continue the phase of a previous call.
        """
        phase = self.frame_phase(f0, noise.initial_phase, phase_offset)
        upsampled = F.interpolate(
            phase.transpose(1, 2) * self.upsample, scale_factor=self.upsample, mode="linear"
        )
        sines = torch.sin(upsampled.transpose(1, 2)) * self.sine_amp
        voiced = (f0 > self.voiced_threshold).to(f0.dtype)
        noise_amp = voiced * self.noise_std + (1 - voiced) * self.sine_amp / 3
        excitation = sines * voiced + noise_amp * noise.sine_noise
        merged = torch.tanh(self.l_linear(excitation.to(self.l_linear.weight.dtype)))
        return merged, phase


def phase_offset_for(
    anchor_phase: torch.Tensor, raw_phase: torch.Tensor, samples_per_frame: int
) -> torch.Tensor:
    """Frame-phase offset making a call's phase equal ``anchor_phase`` modulo one sample-level cycle.

    The source upsamples ``frame_phase × samples_per_frame``, so offsets are equivalent modulo
    ``2π / samples_per_frame``; reducing keeps phases small and float32-accurate on long streams.
    """
    return torch.remainder(anchor_phase - raw_phase, 2 * math.pi / samples_per_frame)
