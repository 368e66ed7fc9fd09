"""Batched forward passes of the speech-token LM over a :class:`~glmtts.engines.glm.kv_cache.PagedKVCache`.

The passes reuse the Llama's own modules (``embed_tokens``, each layer's projections, norms and MLP, the
rotary embedding, ``lm_head``) exactly as :meth:`SpeechTokenLM.forward_cached` does for one sequence:

* :meth:`BatchDecoder.prefill` runs a chunk of one sequence's prompt at its positions (causal attention
  over its earlier positions), so a long prompt can be split over several steps;
* :meth:`BatchDecoder.decode` runs one new token for each of ``B`` sequences at their own positions, with a
  key mask per row (ragged lengths). ``B`` is padded to a batch-size bucket (1, 4, 8, 16, …) with scratch
  rows, and with ``static_shapes`` the key length is the full table width, so every tensor of a step has a
  shape fixed per bucket: the step can be captured by CUDA graphs. Without it (the CPU default) the key
  length is the batch's longest table, rounded to whole blocks.

Nothing here is device-specific; device and dtype are the LM's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from glmtts.engines.glm.kv_cache import PagedKVCache

if TYPE_CHECKING:
    import torch

    from glmtts.engines.glm.llm import SpeechTokenLM


def bucket_size(n_rows: int, max_rows: int) -> int:
    """The smallest bucket (1, 4, 8, 16, … powers of two) ``>= n_rows``, capped at ``max_rows`` (never below
    ``n_rows``). There is no bucket 2: on the dev CPU a float32 GEMM with M = 2 (MKL's small-M path) took
    longer than with M = 4 (lm_head 512 × 98 304: 175 ms vs 150 ms, M = 1: 72 ms)."""
    size = 1 if n_rows <= 1 else 4
    while size < n_rows:
        size *= 2
    return max(min(size, max_rows), n_rows)


class BatchDecoder:
    """Prefill chunks and batched one-token decode steps of ``lm`` writing to ``cache``."""

    def __init__(
        self, lm: SpeechTokenLM, cache: PagedKVCache, max_rows: int, static_shapes: bool = False
    ) -> None:
        self.lm = lm
        self.cache = cache
        self.max_rows = max_rows
        self.static_shapes = static_shapes
        positions = int(lm.model.config.max_position_embeddings)
        self.max_table_width = min(cache.n_blocks, cache.blocks_for(positions))

    def prefill(self, table: Sequence[int], ids: Sequence[int], start: int) -> torch.Tensor:
        """Run ``ids`` at positions ``start..``; return the last position's final hidden state ``[hidden]``."""
        import torch

        device = self.lm.device
        model = self.lm.model.model
        length = len(ids)
        embeds = model.embed_tokens(torch.tensor([list(ids)], device=device))
        positions = torch.arange(start, start + length, device=device)[None]
        cos, sin = model.rotary_emb(embeds, positions)
        slots = torch.tensor(self.cache.slots(table, start, length), device=device)
        end = start + length
        tables = torch.tensor([list(table[: self.cache.blocks_for(end)])], device=device)
        hidden = embeds
        for index, layer in enumerate(model.layers):
            attn_in = layer.input_layernorm(hidden)
            query, key, value = self._project(layer.self_attn, attn_in, cos, sin)
            self.cache.write(index, slots, key[0].transpose(0, 1), value[0].transpose(0, 1))
            keys, values = self.cache.gather(index, tables)
            attended = self._prefill_attention(query, keys[:, :, :end], values[:, :, :end])
            hidden = hidden + layer.self_attn.o_proj(attended)
            hidden = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
        result: torch.Tensor = model.norm(hidden[:, -1])[0]
        return result

    def decode(
        self, tables: Sequence[Sequence[int]], tokens: Sequence[int], positions: Sequence[int]
    ) -> torch.Tensor:
        """One token per sequence: ``tokens[i]`` at ``positions[i]`` of ``tables[i]``; returns ``[B, hidden]``."""
        import torch

        n_rows = len(tokens)
        batch = self._padded_batch(tables, tokens, positions)
        device = self.lm.device
        model = self.lm.model.model
        embeds = model.embed_tokens(batch["tokens"][:, None])
        cos, sin = model.rotary_emb(embeds, batch["positions"][:, None])
        width = batch["tables"].shape[1] * self.cache.block_tokens
        visible = torch.arange(width, device=device)[None, :] <= batch["positions"][:, None]
        mask = visible[:, None, None, :]
        hidden = embeds
        for index, layer in enumerate(model.layers):
            attn_in = layer.input_layernorm(hidden)
            query, key, value = self._project(layer.self_attn, attn_in, cos, sin)
            self.cache.write(index, batch["slots"], key[:, :, 0], value[:, :, 0])
            keys, values = self.cache.gather(index, batch["tables"])
            attended = self._decode_attention(query, keys, values, mask)
            hidden = hidden + layer.self_attn.o_proj(attended)
            hidden = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
        result: torch.Tensor = model.norm(hidden[:n_rows, -1])
        return result

    def log_probs(self, hidden: torch.Tensor) -> torch.Tensor:
        """Full-vocabulary float32 log-probabilities ``[B, vocab]`` of final hidden states ``[B, hidden]``."""
        logp: torch.Tensor = self.lm.model.lm_head(hidden).float().log_softmax(dim=-1)
        return logp

    def _padded_batch(
        self, tables: Sequence[Sequence[int]], tokens: Sequence[int], positions: Sequence[int]
    ) -> dict[str, torch.Tensor]:
        """Row tensors padded to the bucket size; padding rows use the scratch block at position 0."""
        import torch

        n_rows = bucket_size(len(tokens), self.max_rows)
        size = self.cache.block_tokens
        needed = max(position // size + 1 for position in positions)
        width = self.max_table_width if self.static_shapes else needed
        scratch = self.cache.scratch_block
        padded_tables = [[*table[:width], *[scratch] * (width - len(table[:width]))] for table in tables]
        padded_tables += [[scratch] * width] * (n_rows - len(tokens))
        all_positions = [*positions, *[0] * (n_rows - len(tokens))]
        slots = [
            table[p // size] * size + p % size for table, p in zip(padded_tables, all_positions, strict=True)
        ]
        device = self.lm.device
        return {
            "tokens": torch.tensor([*tokens, *[0] * (n_rows - len(tokens))], device=device),
            "positions": torch.tensor(all_positions, device=device),
            "tables": torch.tensor(padded_tables, device=device),
            "slots": torch.tensor(slots, device=device),
        }

    def _project(
        self, attn: Any, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rotated queries ``[B, H, L, D]``, keys and values ``[B, H_kv, L, D]`` of ``hidden [B, L, hidden]``."""
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

        batch, length = hidden.shape[:2]
        lm = self.lm
        query = attn.q_proj(hidden).view(batch, length, lm.n_heads, lm.head_dim).transpose(1, 2)
        key = attn.k_proj(hidden).view(batch, length, lm.n_kv_heads, lm.head_dim).transpose(1, 2)
        value = attn.v_proj(hidden).view(batch, length, lm.n_kv_heads, lm.head_dim).transpose(1, 2)
        query, key = apply_rotary_pos_emb(query, key, cos, sin)
        return query, key, value

    def _prefill_attention(
        self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor
    ) -> torch.Tensor:
        """Causal attention of one sequence's chunk ``[1, H, L, D]`` over its keys ``[1, H_kv, end, D]``."""
        import torch.nn.functional as F

        from glmtts.engines.glm.llm import causal_mask

        lm = self.lm
        length, end = query.shape[2], keys.shape[2]
        n_rep = lm.n_heads // lm.n_kv_heads
        keys = keys.repeat_interleave(n_rep, dim=1)
        values = values.repeat_interleave(n_rep, dim=1)
        mask = causal_mask(length, end, query.device)
        out = F.scaled_dot_product_attention(query, keys, values, attn_mask=mask, scale=lm.head_dim**-0.5)
        return out.transpose(1, 2).reshape(1, length, lm.n_heads * lm.head_dim)

    def _decode_attention(
        self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """One query per row ``[B, H, 1, D]`` over masked keys ``[B, H_kv, T, D]`` (grouped, no K/V repeat)."""
        import torch.nn.functional as F

        lm = self.lm
        batch = query.shape[0]
        n_rep = lm.n_heads // lm.n_kv_heads
        grouped = query.reshape(batch, lm.n_kv_heads, n_rep, lm.head_dim)
        out = F.scaled_dot_product_attention(grouped, keys, values, attn_mask=mask, scale=lm.head_dim**-0.5)
        return out.reshape(batch, 1, lm.n_heads * lm.head_dim)
