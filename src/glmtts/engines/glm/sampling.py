"""Next-token samplers for the speech-token LM, as small strategy objects built from frozen options.

The LM calls :meth:`TokenSampler.choose` once per step with the log-probabilities of the full vocabulary,
the ids decoded so far, a ``torch.Generator`` and the id that must not be returned at this step
(end-of-audio below the minimum length). Most samplers mask that id to ``-inf`` and :meth:`~TokenSampler.sample`
the rest, as upstream's RAS does; upstream's top-k sampler instead redraws while it draws the forbidden id,
and :class:`TopKSampler` does the same so that a seed gives upstream's ids. Randomness only comes from the
generator, so a seed gives the same ids.

* :class:`RasSampler` (default) — repetition-aware sampling (VALL-E 2) as upstream: nucleus sampling with
  ``top_p`` and ``top_k``, and when the drawn id already occurs ``>= window * tau`` times in the last
  ``window`` ids, one redraw from the full distribution. It consumes the generator exactly like upstream's
  ``ras_sampling`` (one ``multinomial`` on the kept probabilities, plus one on the full softmax on a
  repetition), so a seed reproduces upstream's ids.
* :class:`TopKSampler`, :class:`TopPSampler`, :class:`GreedySampler`.

``temperature`` divides the log-probabilities before renormalisation (1.0 keeps them unchanged).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING

from glmtts.engines.base import SamplingOptions

if TYPE_CHECKING:
    import torch


def _apply_temperature(logp: torch.Tensor, temperature: float) -> torch.Tensor:
    if temperature == 1.0:
        return logp
    return (logp / temperature).log_softmax(dim=-1)


class TokenSampler(abc.ABC):
    """Picks the next id from one step's log-probabilities ``[vocab]``."""

    @abc.abstractmethod
    def sample(self, logp: torch.Tensor, history: Sequence[int], generator: torch.Generator | None) -> int:
        """Return the chosen id; ``history`` holds the ids decoded so far in this segment."""

    def choose(
        self,
        logp: torch.Tensor,
        history: Sequence[int],
        generator: torch.Generator | None,
        forbidden: int | None = None,
    ) -> int:
        """The id for this step, never ``forbidden``: here by masking it to ``-inf`` before :meth:`sample`."""
        if forbidden is not None:
            logp = logp.clone()
            logp[forbidden] = float("-inf")
        return self.sample(logp, history, generator)


class GreedySampler(TokenSampler):
    """Always the most likely id (ties go to the lowest id)."""

    def sample(self, logp: torch.Tensor, history: Sequence[int], generator: torch.Generator | None) -> int:
        return int(logp.argmax().item())


class TopKSampler(TokenSampler):
    """Draw among the ``k`` most likely ids, proportionally to their probabilities.

    A forbidden id is redrawn, as upstream's ``sampling_ids`` does (same draws, so a seed gives upstream's
    ids). Upstream loops forever when the forbidden id holds (nearly) all of the top-k mass, e.g. with
    ``k = 1``; after :attr:`MAX_REDRAWS` draws this sampler masks it and draws from the rest instead.
    """

    MAX_REDRAWS = 1000

    def __init__(self, top_k: int, temperature: float = 1.0) -> None:
        self.top_k = top_k
        self.temperature = temperature

    def sample(self, logp: torch.Tensor, history: Sequence[int], generator: torch.Generator | None) -> int:
        values, indices = self._top(logp)
        return self._draw(values, indices, generator)

    def choose(
        self,
        logp: torch.Tensor,
        history: Sequence[int],
        generator: torch.Generator | None,
        forbidden: int | None = None,
    ) -> int:
        values, indices = self._top(logp)
        for _ in range(self.MAX_REDRAWS if forbidden is not None else 1):
            token = self._draw(values, indices, generator)
            if token != forbidden:
                return token
        return super().choose(logp, history, generator, forbidden)

    def _top(self, logp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probs = _apply_temperature(logp, self.temperature).softmax(dim=-1)
        values, indices = probs.topk(min(self.top_k, probs.numel()))
        return values, indices

    @staticmethod
    def _draw(values: torch.Tensor, indices: torch.Tensor, generator: torch.Generator | None) -> int:
        import torch

        pick = torch.multinomial(values, 1, replacement=True, generator=generator)
        return int(indices[pick].item())


def nucleus_candidates(probs: torch.Tensor, top_p: float, top_k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Upstream's nucleus set: ids in descending probability (ties by lower id) while the cumulative
    probability *before* an id is below ``top_p`` and fewer than ``top_k`` were kept.

    Returns ``(kept_probs, kept_ids)``; the id that crosses ``top_p`` is included.
    """
    import torch

    k = min(top_k, probs.numel())
    values, indices = probs.topk(k)
    # topk does not promise an order among equal values; upstream's stable sort puts lower ids first.
    by_id = indices.argsort()
    values, indices = values[by_id], indices[by_id]
    order = values.argsort(descending=True, stable=True)
    values, indices = values[order], indices[order]
    cumulative_before = torch.cumsum(values.to(torch.float64), dim=0) - values.to(torch.float64)
    n_keep = max(1, int((cumulative_before < top_p).sum().item()))
    return values[:n_keep], indices[:n_keep]


class TopPSampler(TokenSampler):
    """Nucleus sampling over the whole vocabulary (no top-k cap)."""

    def __init__(self, top_p: float, temperature: float = 1.0, top_k: int | None = None) -> None:
        self.top_p = top_p
        self.top_k = top_k
        self.temperature = temperature

    def sample(self, logp: torch.Tensor, history: Sequence[int], generator: torch.Generator | None) -> int:
        import torch

        probs = _apply_temperature(logp, self.temperature).softmax(dim=-1)
        kept, ids = nucleus_candidates(probs, self.top_p, self.top_k or probs.numel())
        pick = torch.multinomial(kept, 1, replacement=True, generator=generator)
        return int(ids[pick].item())


class RasSampler(TokenSampler):
    """Repetition-aware sampling: nucleus draw, redrawn from the full distribution on repetition."""

    def __init__(
        self,
        top_p: float = 0.8,
        top_k: int = 25,
        window: int = 10,
        tau: float = 0.1,
        temperature: float = 1.0,
    ) -> None:
        self.nucleus = TopPSampler(top_p, temperature, top_k)
        self.window = window
        self.tau = tau
        self.temperature = temperature

    def sample(self, logp: torch.Tensor, history: Sequence[int], generator: torch.Generator | None) -> int:
        import torch

        token = self.nucleus.sample(logp, history, generator)
        recent = history[-self.window :]
        if sum(1 for previous in recent if previous == token) >= self.window * self.tau:
            probs = _apply_temperature(logp, self.temperature).softmax(dim=-1)
            token = int(torch.multinomial(probs, 1, replacement=True, generator=generator).item())
        return token


def build_sampler(options: SamplingOptions) -> TokenSampler:
    """The sampler selected by ``options.strategy``, configured by the other fields."""
    if options.strategy == "greedy":
        return GreedySampler()
    if options.strategy == "topk":
        return TopKSampler(options.top_k, options.temperature)
    if options.strategy == "topp":
        return TopPSampler(options.top_p, options.temperature)
    return RasSampler(options.top_p, options.top_k, options.ras_window, options.ras_tau, options.temperature)
