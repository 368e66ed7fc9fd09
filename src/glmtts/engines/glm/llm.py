"""The speech-token language model: a ``transformers`` Llama that turns text tokens into speech tokens.

Loading builds the model from ``llm/config.json`` on the *meta* device (no random initialisation, no
memory), then assigns the safetensors weights, cast to the requested dtype, straight onto the target
device. Decoding runs a lean loop over the Llama's own modules with a preallocated KV cache: one prefill
over the prompt, then one token per step, sampling on the device. The layout and rules are upstream's:

* input ``[prompt_text_ids, text_ids, boa, prompt_speech_ids + ats]`` (no BOS), embedded with
  ``embed_tokens``; ``ats`` is only added when both the prompt text and prompt speech are non-empty;
* ``min_len = int(2 * len(text_ids))`` and ``max_len = int(20 * len(text_ids))`` (target text only);
* ``log_softmax`` over the full vocabulary; end-of-audio (``<|user|>``) may not be drawn below ``min_len``
  (the sampler masks it like upstream's RAS, or redraws it like upstream's top-k: see ``sampling``);
* generation stops when end-of-audio is drawn (not returned) or after ``max_len`` ids; ids are returned
  minus ``ats`` and out-of-range ids are returned unchanged, as upstream does.

Usage::

    lm = SpeechTokenLM.load(layout.llm_dir, special_ids, device, dtype)
    for token in lm.generate(prompt_text_ids, text_ids, prompt_speech_ids, RasSampler(), generator):
        ...
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glmtts.engines.glm.checkpoint import (
    DOWNLOAD_HINT,
    check_state_dict,
    read_json,
    safetensor_files,
)
from glmtts.errors import CheckpointError, InvalidTextError

if TYPE_CHECKING:
    import torch

    from glmtts.engines.glm.quantize import QuantReport
    from glmtts.engines.glm.sampling import TokenSampler

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpecialTokenIds:
    """Vocabulary ids the LM layout needs, resolved from the text tokenizer."""

    pad: int
    eoa: int
    boa: int
    ats: int
    ate: int

    @property
    def n_audio_tokens(self) -> int:
        return self.ate - self.ats + 1


@dataclass(frozen=True)
class LengthLimits:
    """Speech-token count bounds as multiples of the target text-token count (upstream: 2 and 20)."""

    min_ratio: float = 2.0
    max_ratio: float = 20.0

    def bounds(self, n_text_tokens: int) -> tuple[int, int]:
        return int(n_text_tokens * self.min_ratio), int(n_text_tokens * self.max_ratio)


def build_llama_on_meta(config_data: dict[str, Any]) -> Any:
    """A ``LlamaForCausalLM`` from a config dict, built on the meta device (shapes only, no storage)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig.from_dict(config_data)
    with torch.device("meta"), _no_init_weights():
        return LlamaForCausalLM(config)


def _no_init_weights() -> contextlib.AbstractContextManager[Any]:
    """transformers' context that turns weight-init functions into no-ops (its module moved in v5)."""
    for module_name in ("transformers.initialization", "transformers.modeling_utils"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, "no_init_weights"):
            context: contextlib.AbstractContextManager[Any] = module.no_init_weights()
            return context
    return contextlib.nullcontext()


class _KVCache:
    """Preallocated keys/values of every layer: ``[1, n_kv_heads, capacity, head_dim]`` each."""

    def __init__(
        self, n_layers: int, n_kv_heads: int, head_dim: int, capacity: int, like: torch.Tensor
    ) -> None:
        import torch

        shape = (n_layers, 1, n_kv_heads, capacity, head_dim)
        self.keys = torch.empty(shape, dtype=like.dtype, device=like.device)
        self.values = torch.empty(shape, dtype=like.dtype, device=like.device)
        self.capacity = capacity


class SpeechTokenLM:
    """The Llama speech-token LM with upstream's prompt layout and a cached decoding loop."""

    def __init__(self, model: Any, special: SpecialTokenIds, quantization: QuantReport | None = None) -> None:
        config = model.config
        if not 0 <= special.ats <= special.ate < config.vocab_size:
            raise CheckpointError(
                f"audio token ids {special.ats}..{special.ate} do not fit the LLM vocabulary "
                f"({config.vocab_size}); the text tokenizer and llm/ come from different checkpoints"
            )
        self.model = model.eval()
        self.special = special
        self.n_heads = int(config.num_attention_heads)
        self.n_kv_heads = int(config.num_key_value_heads)
        self.head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // self.n_heads)
        #: How the weights were quantized and loaded (``None``: not quantized).
        self.quantization = quantization

    @property
    def device(self) -> torch.device:
        return self.model.lm_head.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.model.lm_head.weight.dtype

    @classmethod
    def load(
        cls,
        llm_dir: Path,
        special: SpecialTokenIds,
        device: torch.device | str = "cpu",
        dtype: torch.dtype | None = None,
    ) -> SpeechTokenLM:
        """Build the model from ``llm_dir/config.json`` without random init and assign its weights.

        Quantized loading is :func:`glmtts.engines.glm.quant_cache.load_quantized_llama`.
        """
        import torch

        return cls(load_llama(llm_dir, torch.device(device), dtype or torch.float32), special)

    def build_input_ids(
        self, prompt_text_ids: Sequence[int], text_ids: Sequence[int], prompt_speech_ids: Sequence[int]
    ) -> list[int]:
        """Upstream's prompt: ``prompt_text + text + [boa] + prompt_speech (+ ats)``."""
        offset = self.special.ats if len(prompt_speech_ids) and len(prompt_text_ids) else 0
        speech = [int(token) + offset for token in prompt_speech_ids]
        return [*map(int, prompt_text_ids), *map(int, text_ids), self.special.boa, *speech]

    def plan(
        self,
        prompt_text_ids: Sequence[int],
        text_ids: Sequence[int],
        prompt_speech_ids: Sequence[int],
        limits: LengthLimits | None = None,
    ) -> tuple[list[int], int, int]:
        """The prompt ids and the ``(min_len, max_len)`` speech-token bounds of one segment.

        Raises:
            InvalidTextError: no text ids, or the prompt leaves no room for speech within the positions.
        """
        if not len(text_ids):
            raise InvalidTextError("the text tokenizes to nothing; there is nothing to synthesize")
        min_len, max_len = (limits or LengthLimits()).bounds(len(text_ids))
        input_ids = self.build_input_ids(prompt_text_ids, text_ids, prompt_speech_ids)
        room = int(self.model.config.max_position_embeddings) - len(input_ids)
        if room <= min_len:
            raise InvalidTextError(
                f"the LLM prompt has {len(input_ids)} tokens; it leaves no room for speech within "
                f"{self.model.config.max_position_embeddings} positions (use a shorter prompt clip or text)"
            )
        return input_ids, min_len, min(max_len, room)

    def generate(
        self,
        prompt_text_ids: Sequence[int],
        text_ids: Sequence[int],
        prompt_speech_ids: Sequence[int],
        sampler: TokenSampler,
        generator: torch.Generator | None = None,
        limits: LengthLimits | None = None,
    ) -> Iterator[int]:
        """Yield speech tokens (id minus ``ats``) one by one until end-of-audio or the length cap."""
        import torch

        input_ids, min_len, max_len = self.plan(prompt_text_ids, text_ids, prompt_speech_ids, limits)
        with torch.inference_mode():
            cache = self._new_cache(len(input_ids) + max_len)
            embeds = self.model.model.embed_tokens(torch.tensor([input_ids], device=self.device))
            hidden = self.forward_cached(embeds, 0, cache)
            position = len(input_ids)
            history: list[int] = []
            for step in range(max_len):
                logp = self.model.lm_head(hidden).float().log_softmax(dim=-1)[0]
                forbidden = self.special.eoa if step < min_len else None
                token = sampler.choose(logp, history, generator, forbidden)
                if token == self.special.eoa:
                    return
                history.append(token)
                yield token - self.special.ats
                if step + 1 < max_len:
                    embeds = self.model.model.embed_tokens(torch.tensor([[token]], device=self.device))
                    hidden = self.forward_cached(embeds, position, cache)
                    position += 1

    def _new_cache(self, capacity: int) -> _KVCache:
        n_layers = len(self.model.model.layers)
        return _KVCache(n_layers, self.n_kv_heads, self.head_dim, capacity, self.model.lm_head.weight)

    def forward_cached(self, embeds: torch.Tensor, start: int, cache: _KVCache) -> torch.Tensor:
        """Run ``embeds [1, L, hidden]`` at positions ``start..start+L-1``; return the last hidden ``[1, hidden]``."""
        import torch

        length = embeds.shape[1]
        positions = torch.arange(start, start + length, device=embeds.device)[None]
        cos, sin = self.model.model.rotary_emb(embeds, positions)
        hidden = embeds
        for index, layer in enumerate(self.model.model.layers):
            attn_in = layer.input_layernorm(hidden)
            hidden = hidden + self._attention(layer.self_attn, attn_in, cos, sin, start, cache, index)
            hidden = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
        return self.model.model.norm(hidden[:, -1])

    def _attention(
        self,
        attn: Any,
        hidden: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        start: int,
        cache: _KVCache,
        layer_index: int,
    ) -> torch.Tensor:
        import torch.nn.functional as F
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

        length = hidden.shape[1]
        n_rep = self.n_heads // self.n_kv_heads
        query = attn.q_proj(hidden).view(1, length, self.n_heads, self.head_dim).transpose(1, 2)
        key = attn.k_proj(hidden).view(1, length, self.n_kv_heads, self.head_dim).transpose(1, 2)
        value = attn.v_proj(hidden).view(1, length, self.n_kv_heads, self.head_dim).transpose(1, 2)
        query, key = apply_rotary_pos_emb(query, key, cos, sin)
        end = start + length
        cache.keys[layer_index, :, :, start:end] = key
        cache.values[layer_index, :, :, start:end] = value
        keys = cache.keys[layer_index, :, :, :end]
        values = cache.values[layer_index, :, :, :end]
        scale = self.head_dim**-0.5
        if length == 1:
            # One query per head: group the heads sharing a KV head as that head's "queries" (no mask needed).
            grouped = query.reshape(1, self.n_kv_heads, n_rep, self.head_dim)
            out = F.scaled_dot_product_attention(grouped, keys, values, scale=scale)
            out = out.reshape(1, self.n_heads, 1, self.head_dim)
        else:
            keys = keys.repeat_interleave(n_rep, dim=1)
            values = values.repeat_interleave(n_rep, dim=1)
            mask = causal_mask(length, end, query.device)
            out = F.scaled_dot_product_attention(query, keys, values, attn_mask=mask, scale=scale)
        out = out.transpose(1, 2).reshape(1, length, self.n_heads * self.head_dim)
        return attn.o_proj(out)


def causal_mask(length: int, total: int, device: torch.device) -> torch.Tensor:
    """Boolean ``[length, total]`` mask: query ``i`` (at position ``total-length+i``) sees keys up to itself."""
    import torch

    rows = torch.arange(total - length, total, device=device)[:, None]
    cols = torch.arange(total, device=device)[None, :]
    return cols <= rows


def load_llama(llm_dir: Path, device: torch.device, dtype: torch.dtype) -> Any:
    """The ``LlamaForCausalLM`` of ``llm_dir`` with its safetensors weights cast to ``dtype`` on ``device``."""
    model = build_llama_on_meta(read_json(llm_dir / "config.json"))
    weights = _read_llm_weights(llm_dir, dtype, device)
    assign_llama_weights(model, weights, llm_dir, device)
    _LOGGER.info("loaded LLM from %s (%d tensors, %s on %s)", llm_dir, len(weights), dtype, device)
    return model


def assign_llama_weights(model: Any, weights: dict[str, Any], source: Path, device: torch.device) -> None:
    """Check ``weights`` against the meta-device ``model`` and assign them (ties the head when configured)."""
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    tied = model.config.tie_word_embeddings and "lm_head.weight" not in weights
    if tied and "model.embed_tokens.weight" in weights:
        weights["lm_head.weight"] = weights["model.embed_tokens.weight"]
    check_state_dict(expected, weights, source)
    model.load_state_dict(weights, strict=True, assign=True)
    if model.config.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    _rebuild_meta_buffers(model, device)


def _read_llm_weights(llm_dir: Path, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
    """All safetensors tensors of ``llm_dir``, cast one by one to ``dtype`` on ``device``."""
    from safetensors import SafetensorError, safe_open

    weights: dict[str, torch.Tensor] = {}
    for path in safetensor_files(llm_dir, "LLM"):
        try:
            with safe_open(str(path), framework="pt", device="cpu") as handle:
                for name in handle.keys():  # noqa: SIM118 - safe_open has no __iter__
                    weights[name] = handle.get_tensor(name).to(device=device, dtype=dtype)
        except (OSError, SafetensorError) as exc:
            raise CheckpointError(f"cannot read {path}: {exc}; {DOWNLOAD_HINT}") from exc
    return weights


def _rebuild_meta_buffers(model: Any, device: torch.device) -> None:
    """Recreate non-persistent buffers (the RoPE frequencies) that stayed on the meta device."""
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    model.model.rotary_emb = LlamaRotaryEmbedding(config=model.config).to(device)
    leftover = [name for name, buffer in model.named_buffers() if buffer.is_meta]
    leftover += [name for name, param in model.named_parameters() if param.is_meta]
    if leftover:
        raise CheckpointError(f"LLM tensors left uninitialised after loading: {leftover[:3]}")
