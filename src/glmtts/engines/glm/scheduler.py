"""Continuous batching of the speech-token LM: sequences join at the next step and leave when they end.

A segment's decoding is a :class:`DecodeSequence`: its prompt ids, its length bounds and its own sampling
state (sampler, ``torch.Generator``, history of drawn ids, hence its own RAS window), so the ids it draws
never depend on the sequences sharing its steps. :meth:`StepScheduler.submit` queues it;
:meth:`StepScheduler.run_step` then, once per step:

1. admits waiting sequences (first come, first served) while fewer than ``max_sequences`` run and the
   :class:`~glmtts.engines.glm.kv_cache.PagedKVCache` has blocks for the sequence's prompt plus its
   maximum length (a sequence that does not fit waits; memory never exceeds the preallocated capacity);
2. spends the ``token_budget``: one token per decoding sequence, the rest on prefill chunks in admission
   order (a long prompt is split over several steps);
3. runs one batched decode pass (:class:`~glmtts.engines.glm.batch_decode.BatchDecoder`) and samples one
   id for every sequence that finished its prefill or decoded, each with its own sampler and generator.

Drawn ids (minus ``ats``) pile up in :attr:`DecodeSequence.ready` until its consumer takes them; a
sequence is ``finished`` on end-of-audio or at ``max_len``, and its blocks are freed at once.
:meth:`StepScheduler.release` (consumer closed, cancelled or timed out) removes a sequence wherever it is,
leaving the others untouched. The rules per sequence are :meth:`SpeechTokenLM.generate`'s: end-of-audio
is forbidden below ``min_len``, generation stops when it is drawn (not returned) or after ``max_len`` ids.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from glmtts.engines.batching import BatchLimits
from glmtts.engines.glm.batch_decode import BatchDecoder
from glmtts.engines.glm.kv_cache import PagedKVCache
from glmtts.errors import InvalidOptionError, TextTooLongError

if TYPE_CHECKING:
    import torch

    from glmtts.engines.glm.llm import LengthLimits, SpeechTokenLM
    from glmtts.engines.glm.sampling import TokenSampler

_LOGGER = logging.getLogger(__name__)

#: Positions per KV-cache block.
DEFAULT_BLOCK_TOKENS = 16


@dataclass(eq=False)
class DecodeSequence:
    """One segment's decoding and its own sampling state."""

    prompt_text: list[int]
    text_ids: list[int]
    prompt_speech: list[int]
    input_ids: list[int]
    min_len: int
    max_len: int
    sampler: TokenSampler
    generator: torch.Generator | None
    history: list[int] = field(default_factory=list)  # drawn ids, vocabulary ids (the sampler's window)
    ready: deque[int] = field(default_factory=deque)  # drawn ids minus ``ats``, not yet consumed
    blocks: list[int] = field(default_factory=list)
    n_prefilled: int = 0
    finished: bool = False

    @property
    def n_positions(self) -> int:
        """KV positions reserved for this sequence: its prompt plus ``max_len``."""
        return len(self.input_ids) + self.max_len

    @property
    def prefilling(self) -> bool:
        return self.n_prefilled < len(self.input_ids)


@dataclass
class StepStats:
    """Counters since start: steps run, ids drawn, and the batch size of the last decode pass."""

    n_steps: int = 0
    n_tokens: int = 0
    n_prefill_tokens: int = 0
    last_batch: int = 0


class StepScheduler:
    """Runs all admitted sequences of one LM together, one step at a time (the model thread only)."""

    def __init__(
        self,
        lm: SpeechTokenLM,
        limits: BatchLimits | None = None,
        block_tokens: int = DEFAULT_BLOCK_TOKENS,
        static_shapes: bool = False,
    ) -> None:
        self.lm = lm
        self.limits = limits or BatchLimits()
        if self.limits.max_sequences > self.limits.token_budget:
            raise InvalidOptionError("batch_token_budget must be at least max_batch (one token per sequence)")
        layers = len(lm.model.model.layers)
        self.cache = PagedKVCache(
            layers,
            lm.n_kv_heads,
            lm.head_dim,
            self.limits.kv_capacity_tokens,
            block_tokens,
            lm.device,
            lm.dtype,
        )
        self.decoder = BatchDecoder(lm, self.cache, self.limits.max_sequences, static_shapes)
        self.waiting: deque[DecodeSequence] = deque()
        self.running: list[DecodeSequence] = []
        self.stats = StepStats()

    def submit(
        self,
        prompt_text: Sequence[int],
        text_ids: Sequence[int],
        prompt_speech: Sequence[int],
        sampler: TokenSampler,
        generator: torch.Generator | None = None,
        limits: LengthLimits | None = None,
    ) -> DecodeSequence:
        """Queue one segment's decoding; it joins the batch at the next step that has room for it.

        Raises:
            InvalidTextError: as :meth:`SpeechTokenLM.plan`.
            TextTooLongError: the segment needs more KV positions than the whole cache holds.
        """
        input_ids, min_len, max_len = self.lm.plan(prompt_text, text_ids, prompt_speech, limits)
        sequence = DecodeSequence(
            list(prompt_text),
            list(text_ids),
            list(prompt_speech),
            input_ids,
            min_len,
            max_len,
            sampler,
            generator,
        )
        if not self.cache.fits_ever(sequence.n_positions):
            raise TextTooLongError(
                f"the segment needs {sequence.n_positions} KV-cache positions; the cache holds "
                f"{self.cache.capacity_tokens} (raise kv_capacity_tokens or send shorter text)"
            )
        self.waiting.append(sequence)
        return sequence

    def release(self, sequence: DecodeSequence) -> None:
        """Drop ``sequence`` (finished, cancelled or abandoned) and free its blocks; others are untouched."""
        if sequence in self.waiting:
            self.waiting.remove(sequence)
        if sequence in self.running:
            self.running.remove(sequence)
        self._free(sequence)
        sequence.finished = True

    @property
    def n_in_flight(self) -> int:
        return len(self.waiting) + len(self.running)

    def run_step(self) -> None:
        """Admit, prefill within the token budget, decode one id per running sequence, sample."""
        import torch

        self._admit()
        if not self.running:
            return
        with torch.inference_mode():
            decoding = [seq for seq in self.running if not seq.prefilling]
            budget = self.limits.token_budget - len(decoding)
            rows, hidden = self._prefill(budget)
            if decoding:
                rows += decoding
                hidden.append(self._decode(decoding))
            if rows:
                self._sample(rows, self.decoder.log_probs(torch.cat(hidden)))
        self.stats.n_steps += 1
        self.stats.last_batch = len(rows)
        self.running = [seq for seq in self.running if not seq.finished]

    def _admit(self) -> None:
        while self.waiting and len(self.running) < self.limits.max_sequences:
            blocks = self.cache.allocate(self.waiting[0].n_positions)
            if blocks is None:
                return
            sequence = self.waiting.popleft()
            sequence.blocks = blocks
            self.running.append(sequence)

    def _prefill(self, budget: int) -> tuple[list[DecodeSequence], list[torch.Tensor]]:
        """Prefill chunks within ``budget`` tokens; the sequences whose prompt is now complete, and their
        last hidden states ``[1, hidden]``."""
        done: list[DecodeSequence] = []
        hidden: list[torch.Tensor] = []
        for sequence in self.running:
            if budget <= 0:
                break
            if not sequence.prefilling:
                continue
            start = sequence.n_prefilled
            chunk = sequence.input_ids[start : start + budget]
            last = self.decoder.prefill(sequence.blocks, chunk, start)
            sequence.n_prefilled += len(chunk)
            budget -= len(chunk)
            self.stats.n_prefill_tokens += len(chunk)
            if not sequence.prefilling:
                done.append(sequence)
                hidden.append(last[None])
        return done, hidden

    def _decode(self, sequences: list[DecodeSequence]) -> torch.Tensor:
        """Feed each sequence's last drawn id at its next position; final hidden states ``[B, hidden]``."""
        tokens = [seq.history[-1] for seq in sequences]
        positions = [len(seq.input_ids) + len(seq.history) - 1 for seq in sequences]
        return self.decoder.decode([seq.blocks for seq in sequences], tokens, positions)

    def _sample(self, sequences: list[DecodeSequence], logp: torch.Tensor) -> None:
        special = self.lm.special
        for row, sequence in enumerate(sequences):
            forbidden = special.eoa if len(sequence.history) < sequence.min_len else None
            token = sequence.sampler.choose(logp[row], sequence.history, sequence.generator, forbidden)
            if token == special.eoa:
                self._finish(sequence)
                continue
            sequence.history.append(token)
            sequence.ready.append(token - special.ats)
            self.stats.n_tokens += 1
            if len(sequence.history) >= sequence.max_len:
                self._finish(sequence)

    def _finish(self, sequence: DecodeSequence) -> None:
        sequence.finished = True
        self._free(sequence)

    def _free(self, sequence: DecodeSequence) -> None:
        if sequence.blocks:
            self.cache.free(sequence.blocks)
            sequence.blocks = []
