"""A paged KV cache for ragged batches, preallocated to a fixed capacity so memory stays bounded.

Keys and values of every layer live in one tensor each, ``[n_layers, n_blocks + 1, block_tokens, n_kv_heads,
head_dim]``. A sequence owns a list of blocks (its *block table*); position ``p`` of the sequence is row
``p % block_tokens`` of block ``table[p // block_tokens]``. The extra last block is scratch: padding rows of
a batch-size bucket write there and read only it, so they never touch a live sequence.

Blocks are reserved whole when a sequence is admitted (its prompt plus its maximum speech length), so a
running sequence can never run out of room; a sequence that does not fit waits until others free theirs.

Usage::

    cache = PagedKVCache(n_layers, n_kv_heads, head_dim, capacity_tokens=16384, block_tokens=16,
                         device=device, dtype=dtype)
    blocks = cache.allocate(n_positions)      # None when there is no room now
    cache.write(layer, slots, keys, values)   # slots: flat row indices from cache.slots(blocks, positions)
    keys, values = cache.gather(layer, tables) # [B, n_kv_heads, T, head_dim] views for attention
    cache.free(blocks)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from glmtts.errors import InvalidOptionError

if TYPE_CHECKING:
    import torch


class PagedKVCache:
    """Fixed-size block pool of keys/values shared by every sequence of a batch."""

    def __init__(
        self,
        n_layers: int,
        n_kv_heads: int,
        head_dim: int,
        capacity_tokens: int,
        block_tokens: int,
        device: torch.device | str,
        dtype: torch.dtype,
    ) -> None:
        import torch

        if block_tokens < 1 or capacity_tokens < block_tokens:
            raise InvalidOptionError(
                f"KV cache needs block_tokens >= 1 and capacity >= one block; got "
                f"{capacity_tokens} positions in blocks of {block_tokens}"
            )
        self.block_tokens = block_tokens
        self.n_blocks = capacity_tokens // block_tokens
        self.scratch_block = self.n_blocks
        shape = (n_layers, self.n_blocks + 1, block_tokens, n_kv_heads, head_dim)
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self._free: list[int] = list(range(self.n_blocks - 1, -1, -1))  # pop() hands out low ids first

    @property
    def capacity_tokens(self) -> int:
        """Positions the pool holds (scratch block excluded)."""
        return self.n_blocks * self.block_tokens

    @property
    def nbytes(self) -> int:
        """Bytes held by keys and values (scratch block included): fixed from construction on."""
        return int(self.keys.nbytes + self.values.nbytes)

    @property
    def n_free_blocks(self) -> int:
        return len(self._free)

    @property
    def used_tokens(self) -> int:
        """Positions currently reserved by sequences."""
        return (self.n_blocks - len(self._free)) * self.block_tokens

    def blocks_for(self, n_positions: int) -> int:
        return max(1, math.ceil(n_positions / self.block_tokens))

    def fits_ever(self, n_positions: int) -> bool:
        """Whether ``n_positions`` fit in the empty pool at all."""
        return self.blocks_for(n_positions) <= self.n_blocks

    def allocate(self, n_positions: int) -> list[int] | None:
        """Reserve blocks for ``n_positions``; None when the free blocks do not suffice now."""
        n_needed = self.blocks_for(n_positions)
        if n_needed > len(self._free):
            return None
        return [self._free.pop() for _ in range(n_needed)]

    def free(self, blocks: Sequence[int]) -> None:
        """Give ``blocks`` back to the pool (their contents are left as they are)."""
        self._free.extend(blocks)
        self._free.sort(reverse=True)

    def slots(self, table: Sequence[int], start: int, length: int) -> list[int]:
        """Flat row indices (``block * block_tokens + offset``) of positions ``start..start+length-1``."""
        size = self.block_tokens
        return [table[p // size] * size + p % size for p in range(start, start + length)]

    def write(self, layer: int, slots: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Store ``keys``/``values`` ``[n, n_kv_heads, head_dim]`` at flat rows ``slots`` ``[n]`` of ``layer``."""
        flat_shape = (-1, *self.keys.shape[3:])
        self.keys[layer].view(flat_shape).index_copy_(0, slots, keys.to(self.keys.dtype))
        self.values[layer].view(flat_shape).index_copy_(0, slots, values.to(self.values.dtype))

    def gather(self, layer: int, tables: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of ``tables`` ``[B, n_table]`` as ``[B, n_kv_heads, n_table * block_tokens, head_dim]``."""
        batch, width = tables.shape
        shape = (batch, width * self.block_tokens, *self.keys.shape[3:])
        keys = self.keys[layer][tables].view(shape).transpose(1, 2)
        values = self.values[layer][tables].view(shape).transpose(1, 2)
        return keys, values
