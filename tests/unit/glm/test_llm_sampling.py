"""Sampler strategy objects: nucleus set, repetition fallback, top-k, greedy, temperature, determinism."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.base import SamplingOptions  # noqa: E402
from glmtts.engines.glm.sampling import (  # noqa: E402
    GreedySampler,
    RasSampler,
    TopKSampler,
    TopPSampler,
    build_sampler,
    nucleus_candidates,
)


def _logp(probs: list[float]) -> torch.Tensor:
    return torch.tensor(probs, dtype=torch.float32).log()


def _draws(sampler, logp, history=(), n=400, seed=0) -> list[int]:
    generator = torch.Generator().manual_seed(seed)
    return [sampler.sample(logp, list(history), generator) for _ in range(n)]


def test_nucleus_keeps_the_id_crossing_top_p_and_orders_ties_by_id():
    probs = torch.tensor([0.1, 0.3, 0.3, 0.2, 0.1])
    kept, ids = nucleus_candidates(probs, top_p=0.65, top_k=25)
    assert ids.tolist() == [1, 2, 3]  # 0.3 + 0.3 < 0.65, the 0.2 crossing it is kept
    assert kept.tolist() == pytest.approx([0.3, 0.3, 0.2])
    _, capped = nucleus_candidates(probs, top_p=1.0, top_k=2)
    assert capped.tolist() == [1, 2]


def test_ras_draws_only_from_the_nucleus_without_repetition():
    logp = _logp([0.5, 0.3, 0.1, 0.05, 0.05])
    draws = _draws(RasSampler(top_p=0.8, top_k=25), logp)
    assert set(draws) == {0, 1}


def test_ras_redraws_from_the_full_distribution_on_repetition():
    logp = _logp([0.9, 0.04, 0.03, 0.02, 0.01])
    sampler = RasSampler(top_p=0.8, top_k=25, window=10, tau=0.1)
    assert set(_draws(sampler, logp, history=[3, 4])) == {0}
    repeated = _draws(sampler, logp, history=[0], n=2000)
    assert set(repeated) == {0, 1, 2, 3, 4}
    assert 0.85 < repeated.count(0) / len(repeated) < 0.95


def test_ras_is_deterministic_given_the_generator():
    logp = torch.randn(300, generator=torch.Generator().manual_seed(3)).log_softmax(-1)
    sampler = RasSampler()
    assert _draws(sampler, logp, history=[1, 2, 3], seed=7) == _draws(
        sampler, logp, history=[1, 2, 3], seed=7
    )
    assert _draws(sampler, logp, seed=7) != _draws(sampler, logp, seed=8)


def test_topk_topp_greedy_and_temperature():
    logp = _logp([0.4, 0.3, 0.2, 0.06, 0.04])
    assert set(_draws(TopKSampler(2), logp)) == {0, 1}
    assert set(_draws(TopPSampler(0.75), logp)) == {0, 1, 2}
    assert GreedySampler().sample(logp, [], None) == 0
    cold = _draws(TopKSampler(5, temperature=0.02), logp, n=200)
    hot = _draws(TopKSampler(5, temperature=5.0), logp, n=2000)
    assert cold.count(0) == 200
    assert hot.count(4) > 200


@pytest.mark.parametrize(
    ("strategy", "kind"),
    [("ras", RasSampler), ("topk", TopKSampler), ("topp", TopPSampler), ("greedy", GreedySampler)],
)
def test_build_sampler_follows_options(strategy, kind):
    sampler = build_sampler(SamplingOptions(strategy=strategy, top_k=7, top_p=0.5, temperature=0.9))
    assert isinstance(sampler, kind)
    if isinstance(sampler, RasSampler):
        assert (sampler.window, sampler.tau, sampler.nucleus.top_p, sampler.nucleus.top_k) == (
            10,
            0.1,
            0.5,
            7,
        )


def test_forbidden_id_is_masked_for_ras_like_upstream():
    logp = _logp([0.6, 0.3, 0.05, 0.05])
    sampler = RasSampler(top_p=0.8, top_k=25)
    generator = torch.Generator().manual_seed(4)
    chosen = [sampler.choose(logp, [], generator, forbidden=0) for _ in range(300)]
    masked = logp.clone()
    masked[0] = float("-inf")
    replay = torch.Generator().manual_seed(4)
    assert chosen == [sampler.sample(masked, [], replay) for _ in range(300)]
    assert 0 not in chosen


def test_topk_redraws_a_forbidden_id_with_upstreams_draws():
    """Upstream's ``sampling_ids``: draw from the unmasked top-k, again while the forbidden id comes up."""
    logp = _logp([0.5, 0.3, 0.15, 0.05])
    sampler = TopKSampler(3)
    generator = torch.Generator().manual_seed(9)
    chosen = [sampler.choose(logp, [], generator, forbidden=0) for _ in range(200)]
    replay = torch.Generator().manual_seed(9)
    values, indices = logp.softmax(-1).topk(3)
    expected = []
    for _ in range(200):
        token = 0
        while token == 0:
            token = int(indices[torch.multinomial(values, 1, replacement=True, generator=replay)])
        expected.append(token)
    assert chosen == expected
    assert set(chosen) == {1, 2}  # the 4th id never enters: the top-k set is the unmasked one


def test_topk_does_not_hang_when_the_forbidden_id_is_all_the_mass():
    logp = _logp([0.7, 0.2, 0.1])
    assert TopKSampler(1).choose(logp, [], torch.Generator().manual_seed(0), forbidden=0) == 1
