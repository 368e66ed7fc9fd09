"""Speech tokenizer: prompt audio (16 kHz) -> discrete speech tokens at 25 per second (Whisper-VQ encoder).

The encoder is the front of a Whisper encoder truncated at ``quantize_position``: two GELU convolutions
(the second with stride 2, giving 50 frames/s from Whisper's 100), learned positions, pre-LN transformer
layers with a block-causal mask, an average pool after layer ``pooling_position`` (25 frames/s) and a
nearest-codebook lookup after layer ``quantize_position``. Only the tensors it needs are read from
``speech_tokenizer/model*.safetensors`` (keys ``model.encoder.*`` below ``quantize_position``; the final
``layer_norm``, later layers and any decoder weights are skipped).

Audio is cut into 30 s segments that are tokenized in batches (padded to the longest, to a multiple of
640 samples) and the valid tokens of each segment are concatenated, as upstream does.

Usage::

    tokenizer = SpeechTokenizer.load(layout.speech_tokenizer_dir, device, dtype)
    tokens = tokenizer.tokenize(samples_16k)  # list[int]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glmtts.engines.glm.checkpoint import (
    check_state_dict,
    load_safetensors,
    read_json,
    safetensor_files,
)
from glmtts.errors import CheckpointError, InvalidAudioError

if TYPE_CHECKING:
    import torch

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000
SEGMENT_S = 30
BATCH_SIZE = 128


@dataclass(frozen=True)
class WhisperVQSettings:
    """The sizes and options of ``speech_tokenizer/config.json`` the encoder needs."""

    d_model: int
    n_heads: int
    ffn_dim: int
    n_mels: int
    max_source_positions: int
    quantize_position: int
    pooling_position: int
    pooling_kernel_size: int
    codebook_size: int
    causal_block_size: int | None
    has_ema_buffers: bool

    @classmethod
    def from_config(cls, config: dict[str, Any], source: Path) -> WhisperVQSettings:
        """Validate a WhisperVQ ``config.json`` dict; unsupported variants raise :class:`CheckpointError`."""
        try:
            settings = cls(
                d_model=int(config["d_model"]),
                n_heads=int(config["encoder_attention_heads"]),
                ffn_dim=int(config["encoder_ffn_dim"]),
                n_mels=int(config["num_mel_bins"]),
                max_source_positions=int(config["max_source_positions"]),
                quantize_position=int(config.get("quantize_position", 16)),
                pooling_position=int(config.get("pooling_position") or 0),
                pooling_kernel_size=int(config.get("pooling_kernel_size") or 1),
                codebook_size=int(config["quantize_vocab_size"]),
                causal_block_size=config.get("quantize_causal_block_size"),
                has_ema_buffers=bool(config.get("quantize_ema_decay")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{source}: missing or invalid speech tokenizer setting {exc}") from exc
        if config.get("encoder_causal_convolution") or config.get("encoder_causal_attention"):
            raise CheckpointError(f"{source}: causal Whisper-VQ variants are not supported")
        if config.get("pooling_type", "avg") != "avg" and settings.pooling_kernel_size > 1:
            raise CheckpointError(f"{source}: only average pooling is supported")
        if config.get("activation_function", "gelu") != "gelu":
            raise CheckpointError(f"{source}: only the gelu activation is supported")
        if (
            not 0
            < settings.quantize_position
            <= int(config.get("encoder_layers", settings.quantize_position))
        ):
            raise CheckpointError(f"{source}: quantize_position is out of range")
        return settings


def build_whisper_vq_encoder(settings: WhisperVQSettings) -> Any:
    """The encoder module (state-dict keys as upstream's ``WhisperVQEncoder`` without the ``model.encoder.`` prefix)."""
    import torch
    from torch import nn

    class SelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            width = settings.d_model
            self.k_proj = nn.Linear(width, width, bias=False)
            self.v_proj = nn.Linear(width, width)
            self.q_proj = nn.Linear(width, width)
            self.out_proj = nn.Linear(width, width)

    class EncoderLayer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            width = settings.d_model
            self.self_attn = SelfAttention()
            self.self_attn_layer_norm = nn.LayerNorm(width)
            self.fc1 = nn.Linear(width, settings.ffn_dim)
            self.fc2 = nn.Linear(settings.ffn_dim, width)
            self.final_layer_norm = nn.LayerNorm(width)

        def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            batch, length, width = hidden.shape
            head_dim = width // settings.n_heads
            attn = self.self_attn
            normed = self.self_attn_layer_norm(hidden)

            def heads(x: torch.Tensor) -> torch.Tensor:
                return x.view(batch, length, settings.n_heads, head_dim).transpose(1, 2)

            out = nn.functional.scaled_dot_product_attention(
                heads(attn.q_proj(normed)),
                heads(attn.k_proj(normed)),
                heads(attn.v_proj(normed)),
                attn_mask=mask,
            )
            hidden = hidden + attn.out_proj(out.transpose(1, 2).reshape(batch, length, width))
            feed = self.fc2(nn.functional.gelu(self.fc1(self.final_layer_norm(hidden))))
            return hidden + feed

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            width = settings.d_model
            if settings.has_ema_buffers:
                self.register_buffer("ema_count", torch.ones(settings.codebook_size))
                self.register_buffer("ema_weight", torch.zeros(settings.codebook_size, width))
            self.conv1 = nn.Conv1d(settings.n_mels, width, kernel_size=3, padding=1)
            self.conv2 = nn.Conv1d(width, width, kernel_size=3, stride=2, padding=1)
            self.embed_positions = nn.Embedding(settings.max_source_positions, width)
            self.layers = nn.ModuleList(EncoderLayer() for _ in range(settings.quantize_position))
            self.codebook = nn.Embedding(settings.codebook_size, width)
            self.embed_positions2 = nn.Embedding(
                settings.max_source_positions // settings.pooling_kernel_size, width
            )

    return Encoder()


def block_causal_mask(valid: torch.Tensor, block_size: int | None, dtype: torch.dtype) -> torch.Tensor:
    """Additive ``[B, 1, T, T]`` mask: a frame sees earlier frames and its whole block, never padding."""
    import torch

    length = valid.shape[1]
    allowed = torch.ones(length, length, dtype=torch.bool, device=valid.device)
    if block_size is not None:
        positions = torch.arange(length, device=valid.device)
        same_block = (positions[:, None] // block_size) == (positions[None, :] // block_size)
        allowed = torch.tril(allowed) | same_block
    allowed = allowed[None] & valid[:, None, :].bool()
    mask = torch.zeros(allowed.shape, dtype=dtype, device=valid.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]


def nearest_code(hidden: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest codebook row for each vector (``|c|² + |h|² - 2 h·c``, as upstream)."""
    import torch

    flat = hidden.reshape(-1, codebook.shape[1])
    base = (codebook**2).sum(dim=1) + (flat**2).sum(dim=1, keepdim=True)
    distances = torch.addmm(base, flat, codebook.t(), alpha=-2.0, beta=1.0)
    return distances.argmin(dim=1).reshape(hidden.shape[:2])


class SpeechTokenizer:
    """Whisper features + Whisper-VQ encoder, with upstream's 30 s segmentation."""

    def __init__(self, encoder: Any, settings: WhisperVQSettings, feature_extractor: Any) -> None:
        self.encoder = encoder.eval()
        self.settings = settings
        self.feature_extractor = feature_extractor
        hop = int(feature_extractor.hop_length)
        #: audio samples per output token (conv strides × pool × hop): 640 at 16 kHz, i.e. 25 tokens/s.
        self.samples_per_token = 2 * settings.pooling_kernel_size * hop

    @property
    def device(self) -> torch.device:
        return self.encoder.conv1.weight.device

    @classmethod
    def load(
        cls, directory: Path, device: torch.device | str = "cpu", dtype: torch.dtype | None = None
    ) -> SpeechTokenizer:
        """Build the encoder from ``directory/config.json`` and load its weights (only the needed keys)."""
        import torch
        from transformers import WhisperFeatureExtractor

        settings = WhisperVQSettings.from_config(
            read_json(directory / "config.json"), directory / "config.json"
        )
        with torch.device("meta"):
            encoder = build_whisper_vq_encoder(settings)
        expected = {key: tuple(value.shape) for key, value in encoder.state_dict().items()}

        def wanted(name: str) -> bool:
            if name.startswith("layers."):
                return int(name.split(".")[1]) < settings.quantize_position
            return name in expected

        weights = load_safetensors(safetensor_files(directory, "speech tokenizer"), "model.encoder.", wanted)
        check_state_dict(expected, weights, directory / "model.safetensors")
        target = dtype or torch.float32
        weights = {key: value.to(device=device, dtype=target) for key, value in weights.items()}
        encoder.load_state_dict(weights, strict=True, assign=True)
        preprocessor = directory / "preprocessor_config.json"
        extractor_config = read_json(preprocessor) if preprocessor.is_file() else {}
        extractor_config = {k: v for k, v in extractor_config.items() if k != "feature_extractor_type"}
        extractor_config.setdefault("feature_size", settings.n_mels)
        extractor = WhisperFeatureExtractor(**extractor_config)
        if int(extractor.feature_size) != settings.n_mels or int(extractor.sampling_rate) != SAMPLE_RATE:
            raise CheckpointError(
                f"{preprocessor}: feature extractor does not match the encoder (128 mels, 16 kHz)"
            )
        return cls(encoder, settings, extractor)

    def tokenize(self, samples: np.ndarray) -> list[int]:
        """Speech tokens of mono float32 audio at 16 kHz (about 25 per second)."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1 or samples.size == 0:
            raise InvalidAudioError(
                f"speech tokenizer needs non-empty mono 16 kHz audio, got shape {samples.shape}"
            )
        segment = SEGMENT_S * SAMPLE_RATE
        segments = [samples[start : start + segment] for start in range(0, samples.size, segment)]
        tokens: list[int] = []
        for start in range(0, len(segments), BATCH_SIZE):
            tokens.extend(self._tokenize_batch(segments[start : start + BATCH_SIZE]))
        return tokens

    def _tokenize_batch(self, segments: Sequence[np.ndarray]) -> list[int]:
        import torch

        input_features, frame_mask = self.features(segments)
        with torch.inference_mode():
            token_ids, token_mask = self.encode(input_features, frame_mask)
        kept: list[int] = []
        for row, valid in zip(token_ids, token_mask, strict=True):
            kept.extend(row[valid.bool()].tolist())
        return kept

    def encode(
        self, input_features: torch.Tensor, frame_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder forward: features ``[B, n_mels, T]`` and mask ``[B, T]`` -> (token ids, valid mask) at 25 Hz."""
        hidden, valid = self.encode_hidden(input_features, frame_mask)
        return nearest_code(hidden, self.encoder.codebook.weight), valid

    def encode_hidden(
        self, input_features: torch.Tensor, frame_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The hidden states entering the quantizer ``[B, T_tokens, d_model]`` and their valid mask."""
        import torch.nn.functional as F

        settings = self.settings
        encoder = self.encoder
        valid = frame_mask[:, ::2]
        mask = block_causal_mask(valid, settings.causal_block_size, input_features.dtype)
        hidden = F.gelu(encoder.conv1(input_features))
        hidden = F.gelu(encoder.conv2(hidden)).transpose(1, 2)
        if hidden.shape[1] > settings.max_source_positions:
            raise InvalidAudioError("speech tokenizer segment is longer than 30 s")
        hidden = hidden + encoder.embed_positions.weight[: hidden.shape[1]]
        for index, layer in enumerate(encoder.layers):
            hidden = layer(hidden, mask)
            if index + 1 == settings.pooling_position and settings.pooling_kernel_size > 1:
                hidden, valid = self._pool(hidden, valid)
                block = settings.causal_block_size
                mask = block_causal_mask(
                    valid, None if block is None else block // settings.pooling_kernel_size, hidden.dtype
                )
        return hidden, valid

    def features(self, segments: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Whisper log-mel features ``[B, n_mels, T]`` and frame mask ``[B, T]`` of 16 kHz segments."""
        features = self.feature_extractor(
            list(segments),
            sampling_rate=SAMPLE_RATE,
            return_attention_mask=True,
            return_tensors="pt",
            padding="longest",
            pad_to_multiple_of=self.samples_per_token,
            device="cpu",
        )
        dtype = self.encoder.conv1.weight.dtype
        input_features = features["input_features"].to(device=self.device, dtype=dtype)
        return input_features, features["attention_mask"].to(self.device)

    def _pool(self, hidden: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        import torch.nn.functional as F

        kernel = self.settings.pooling_kernel_size
        channels_first = hidden.transpose(1, 2)
        remainder = channels_first.shape[-1] % kernel
        if remainder:
            channels_first = F.pad(channels_first, (0, kernel - remainder))
        pooled = F.avg_pool1d(channels_first, kernel_size=kernel, stride=kernel)
        return pooled.transpose(1, 2), valid[:, ::kernel]
