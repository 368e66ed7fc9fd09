"""Building blocks of the flow DiT (F5-TTS style); parameter names follow upstream's state dict.

Shapes: ``B`` batch, ``N`` mel frames, ``D`` model width, ``C`` conditioning width (``D`` + speaker dim).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class TimestepEmbedding(nn.Module):
    """Flow time ``t`` ``[B]`` → ``[B, D]``: sinusoid (dim 256, scale 1000) then Linear-SiLU-Linear."""

    def __init__(self, dim: int, freq_dim: int = 256) -> None:
        super().__init__()
        self.freq_dim = freq_dim
        self.time_mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, time: torch.Tensor) -> torch.Tensor:
        half = self.freq_dim // 2
        step = math.log(10000) / (half - 1)
        freqs = torch.exp(torch.arange(half, device=time.device).float() * -step)
        args = 1000 * time.float().unsqueeze(1) * freqs.unsqueeze(0)
        first_layer: nn.Linear = self.time_mlp[0]  # type: ignore[assignment]
        sinusoid = torch.cat((args.sin(), args.cos()), dim=-1).to(first_layer.weight.dtype)
        return self.time_mlp(sinusoid)


class GlobalResponseNorm(nn.Module):
    """ConvNeXt-V2 GRN; the L2 norm runs over the *time* axis (upstream's ``dim=1``)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, dim))
        self.beta = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = torch.norm(x, p=2, dim=1, keepdim=True)
        scaled = norm / (norm.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * scaled) + self.beta + x


class ConvNeXtV2Block(nn.Module):
    """Depthwise conv k7 → LayerNorm → Linear ×mult → GELU → GRN → Linear, residual. ``[B, N, D]``."""

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, hidden_dim)
        self.grn = GlobalResponseNorm(hidden_dim)
        self.pwconv2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.dwconv(x.transpose(1, 2)).transpose(1, 2)
        hidden = self.grn(F.gelu(self.pwconv1(self.norm(hidden))))
        return x + self.pwconv2(hidden)


def sinusoid_table(dim: int, n_positions: int) -> torch.Tensor:
    """Absolute position table ``[n_positions, dim]`` = ``cat(cos, sin)`` of ``pos / 1e4^(2i/dim)``."""
    freqs = 1.0 / (10000.0 ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim))
    angles = torch.outer(torch.arange(n_positions).float(), freqs)
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class _UniformInitEmbedding(nn.Embedding):
    """``nn.Embedding`` initialised uniformly: ``normal_`` on the meta device costs seconds of imports."""

    def reset_parameters(self) -> None:
        nn.init.uniform_(self.weight, -1.0, 1.0)


class TokenEmbedding(nn.Module):
    """Speech tokens upsampled to the mel length, embedded, plus positions, then ConvNeXt-V2 blocks."""

    def __init__(self, vocab_size: int, dim: int, n_blocks: int, max_positions: int = 4096) -> None:
        super().__init__()
        self.max_positions = max_positions
        self.text_embed = _UniformInitEmbedding(vocab_size + 1, dim)
        self.text_blocks = nn.Sequential(*(ConvNeXtV2Block(dim, dim * 2) for _ in range(n_blocks)))

    def forward(self, tokens: torch.Tensor, n_frames: int) -> torch.Tensor:
        """``tokens`` ``[B, T]`` int → ``[B, n_frames, dim]`` (nearest-neighbour token repetition)."""
        upsampled = F.interpolate(tokens[:, None].float(), size=n_frames, mode="nearest")[:, 0].long()
        embedded = self.text_embed(upsampled)
        table = sinusoid_table(embedded.shape[-1], self.max_positions).to(embedded.device, embedded.dtype)
        positions = torch.arange(n_frames, device=embedded.device).clamp(max=self.max_positions - 1)
        return self.text_blocks(embedded + table[positions])


class ConvPositionEmbedding(nn.Module):
    """Two grouped convs (k31, 16 groups), each followed by Mish. ``[B, N, D]`` → ``[B, N, D]``."""

    def __init__(self, dim: int, kernel_size: int = 31, groups: int = 16) -> None:
        super().__init__()
        self.conv1d = nn.Sequential(
            nn.Conv1d(dim, dim, kernel_size, groups=groups, padding=kernel_size // 2),
            nn.Mish(),
            nn.Conv1d(dim, dim, kernel_size, groups=groups, padding=kernel_size // 2),
            nn.Mish(),
        )

    def forward(self, x: torch.Tensor, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``frame_mask`` ``[B, N]`` (True = real frame) zeroes padding before each conv, so a padded row's
        real frames see the same zeros at their end as the row alone (whose conv pads with zeros)."""
        if frame_mask is None:
            return self.conv1d(x.transpose(1, 2)).transpose(1, 2)
        keep = frame_mask[:, None, :]
        hidden = x.transpose(1, 2)
        layers = list(self.conv1d)  # conv, Mish, conv, Mish
        for conv, activation in zip(layers[0::2], layers[1::2], strict=True):
            hidden = activation(conv(hidden.masked_fill(~keep, 0.0)))
        return hidden.transpose(1, 2)


class InputProjection(nn.Module):
    """``Linear(cat(x, cond, text))`` then a convolutional position embedding added residually."""

    def __init__(self, mel_dim: int, text_dim: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(mel_dim * 2 + text_dim, dim)
        self.conv_pos_embed = ConvPositionEmbedding(dim)

    def forward(
        self, x: torch.Tensor, cond: torch.Tensor, text: torch.Tensor, frame_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        hidden = self.proj(torch.cat((x, cond, text), dim=-1))
        return self.conv_pos_embed(hidden, frame_mask) + hidden


class RotaryEmbedding(nn.Module):
    """Interleaved rotary frequencies ``[1, N, rot_dim]`` (x-transformers layout, persistent buffer)."""

    inv_freq: torch.Tensor

    def __init__(self, rot_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        # Computed on the CPU even when the module is built on the meta device (meta math is slow to start).
        inv_freq = 1.0 / (base ** (torch.arange(0, rot_dim, 2, device="cpu").float() / rot_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=True)

    def forward(self, n_frames: int) -> torch.Tensor:
        positions = torch.arange(n_frames, device=self.inv_freq.device).type_as(self.inv_freq)
        freqs = torch.outer(positions, self.inv_freq)
        return torch.stack((freqs, freqs), dim=-1).flatten(-2).unsqueeze(0)


def apply_rotary(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """Rotate the first ``freqs.shape[-1]`` channels of ``x`` ``[B, N, H*d]``; the rest pass unchanged.

    Upstream applies this to the projection *before* splitting heads, so only head 0 is rotated.
    """
    rot_dim = freqs.shape[-1]
    rotated, passthrough = x[..., :rot_dim], x[..., rot_dim:]
    pairs = rotated.unflatten(-1, (-1, 2))
    swapped = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
    # Angles reach thousands of radians: take cos/sin in float32, then cast (bf16 angles would be useless).
    cos, sin = freqs.float().cos().to(x.dtype), freqs.float().sin().to(x.dtype)
    return torch.cat((rotated * cos + swapped * sin, passthrough), dim=-1)


class Attention(nn.Module):
    """Multi-head self-attention with biased projections and rotary positions on head 0."""

    def __init__(self, dim: int, heads: int, dim_head: int) -> None:
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.to_q = nn.Linear(dim, inner)
        self.to_k = nn.Linear(dim, inner)
        self.to_v = nn.Linear(dim, inner)
        self.to_out = nn.ModuleList([nn.Linear(inner, dim)])

    def forward(self, x: torch.Tensor, rope: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        batch = x.shape[0]
        query = apply_rotary(self.to_q(x), rope)
        key = apply_rotary(self.to_k(x), rope)
        value = self.to_v(x)
        query, key, value = (
            t.view(batch, -1, self.heads, t.shape[-1] // self.heads).transpose(1, 2)
            for t in (query, key, value)
        )
        attended = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
        return self.to_out[0](attended.transpose(1, 2).flatten(2))


class AdaLayerNormZero(nn.Module):
    """Six modulation vectors from the conditioning: (shift, scale, gate) for attention and for FF."""

    def __init__(self, dim: int, cond_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(cond_dim, dim * 6)

    def forward(self, cond: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.linear(F.silu(cond)).chunk(6, dim=1))


class FeedForward(nn.Module):
    """``Linear → GELU(tanh) → Linear``; nested as upstream (``ff.0.0`` and ``ff.2``)."""

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.ff = nn.Sequential(
            nn.Sequential(nn.Linear(dim, hidden_dim), nn.GELU(approximate="tanh")),
            nn.Identity(),
            nn.Linear(hidden_dim, dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ff(x)


def _modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    normed = F.layer_norm(x, (x.shape[-1],), eps=1e-6)
    return normed * (1 + scale[:, None]) + shift[:, None]


class DiTBlock(nn.Module):
    """adaLN-Zero transformer block: gated attention then gated feed-forward."""

    def __init__(self, dim: int, cond_dim: int, heads: int, dim_head: int, ff_mult: int) -> None:
        super().__init__()
        self.attn_norm = AdaLayerNormZero(dim, cond_dim)
        self.attn = Attention(dim, heads, dim_head)
        self.ff = FeedForward(dim, dim * ff_mult)

    def forward(
        self, x: torch.Tensor, cond: torch.Tensor, rope: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.attn_norm(cond)
        x = x + gate_msa[:, None] * self.attn(_modulate(x, shift_msa, scale_msa), rope, mask)
        return x + gate_mlp[:, None] * self.ff(_modulate(x, shift_mlp, scale_mlp))


class FinalAdaLayerNorm(nn.Module):
    """Final modulation; upstream splits it as (scale, shift), the reverse of the blocks' order."""

    def __init__(self, dim: int, cond_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(cond_dim, dim * 2)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = self.linear(F.silu(cond)).chunk(2, dim=1)
        return _modulate(x, shift, scale)
