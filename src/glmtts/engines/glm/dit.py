"""The flow-matching DiT estimator: predicts the velocity of the mel at flow time ``t``.

Inputs per call: noisy mel ``x`` ``[B, N, 80]``, conditioning mel ``cond`` ``[B, N, 80]`` (prompt frames,
zeros elsewhere), speech tokens ``[B, T]`` (nearest-upsampled to ``N``), time ``t`` ``[B]`` and the
L2-normalised speaker vector ``[B, 192]``. Output: velocity ``[B, N, 80]``. Parameter names match
upstream's ``estimator.*`` keys; sizes come from :class:`DiTConfig`, read from the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from glmtts.engines.glm.dit_blocks import (
    DiTBlock,
    FinalAdaLayerNorm,
    InputProjection,
    RotaryEmbedding,
    TimestepEmbedding,
    TokenEmbedding,
)


@dataclass(frozen=True)
class DiTConfig:
    """DiT sizes. Defaults are the released model (768 wide, 18 deep, 12 heads × 64)."""

    dim: int = 768
    depth: int = 18
    heads: int = 12
    dim_head: int = 64
    ff_mult: int = 2
    mel_dim: int = 80
    text_dim: int = 512
    vocab_size: int = 100000
    n_text_blocks: int = 4
    speaker_dim: int = 192

    @property
    def cond_dim(self) -> int:
        """Width of the adaLN conditioning: time embedding concatenated with the speaker vector."""
        return self.dim + self.speaker_dim


class DiT(nn.Module):
    """Diffusion transformer with adaLN-Zero conditioning on (time, speaker)."""

    def __init__(self, config: DiTConfig) -> None:
        super().__init__()
        self.config = config
        self.time_embed = TimestepEmbedding(config.dim)
        self.text_emb_layer = TokenEmbedding(config.vocab_size, config.text_dim, config.n_text_blocks)
        self.emb_concator = InputProjection(config.mel_dim, config.text_dim, config.dim)
        self.rotary_embed = RotaryEmbedding(config.dim_head)
        self.transformer_blocks = nn.ModuleList(
            DiTBlock(config.dim, config.cond_dim, config.heads, config.dim_head, config.ff_mult)
            for _ in range(config.depth)
        )
        self.norm_out = FinalAdaLayerNorm(config.dim, config.cond_dim)
        self.proj_out = nn.Linear(config.dim, config.mel_dim)

    def embed_tokens(self, tokens: torch.Tensor, n_frames: int) -> torch.Tensor:
        """Token features ``[B, n_frames, text_dim]``; independent of ``x`` and ``t``, so reusable."""
        return self.text_emb_layer(tokens, n_frames)

    def forward(
        self,
        x: torch.Tensor,
        cond: torch.Tensor,
        token_features: torch.Tensor,
        time: torch.Tensor,
        speaker: torch.Tensor,
        frame_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Velocity ``[B, N, mel_dim]``; ``token_features`` from :meth:`embed_tokens`.

        ``frame_mask`` ``[B, N]`` bool (True = real frame) batches rows of different lengths padded at the
        end: padding is zeroed before the convolutions and masked out of attention keys, so each row's
        real frames get (within float rounding) the velocity of that row run alone. ``None``: no padding.
        """
        conditioning = torch.cat((self.time_embed(time), speaker.to(x.dtype)), dim=-1)
        hidden = self.emb_concator(x, cond, token_features, frame_mask)
        rope = self.rotary_embed(x.shape[1])
        key_mask = None if frame_mask is None else frame_mask[:, None, None, :]
        for block in self.transformer_blocks:
            hidden = block(hidden, conditioning, rope, key_mask)
        return self.proj_out(self.norm_out(hidden, conditioning))
