"""Batched LLM decoding on the tiny checkpoint: paged KV cache, batched logits vs serial, per-request sampling."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.base import SamplingOptions  # noqa: E402
from glmtts.engines.batching import BatchLimits  # noqa: E402
from glmtts.engines.glm.batch_decode import BatchDecoder, bucket_size  # noqa: E402
from glmtts.engines.glm.kv_cache import PagedKVCache  # noqa: E402
from glmtts.engines.glm.llm import LengthLimits, SpeechTokenLM  # noqa: E402
from glmtts.engines.glm.sampling import build_sampler  # noqa: E402
from glmtts.engines.glm.scheduler import StepScheduler  # noqa: E402
from glmtts.errors import TextTooLongError  # noqa: E402

# (prompt text, target text, prompt speech): ragged prompt lengths 9, 30, 57 and text lengths 3, 7, 12.
CASES = [
    ([11, 12], [21, 22, 23], [5, 6, 7]),
    ([11, 12, 13, 14, 15], [31, 32, 33, 34, 35, 36, 37], list(range(100, 117))),
    (list(range(40, 52)), list(range(60, 72)), list(range(200, 232))),
]
LIMITS = LengthLimits(min_ratio=1.0, max_ratio=4.0)


@pytest.fixture(scope="module")
def lm(glm_engine) -> SpeechTokenLM:
    return glm_engine._pipeline.synthesizer.lm


def _cache(lm: SpeechTokenLM, capacity: int = 512, block: int = 16) -> PagedKVCache:
    layers = len(lm.model.model.layers)
    return PagedKVCache(layers, lm.n_kv_heads, lm.head_dim, capacity, block, lm.device, lm.dtype)


def _serial_logits(lm: SpeechTokenLM, input_ids: list[int], fed: list[int]) -> list[torch.Tensor]:
    """Log-probs after the prompt and after each id of ``fed``, from the serial cached loop."""
    cache = lm._new_cache(len(input_ids) + len(fed) + 1)
    embed = lm.model.model.embed_tokens
    with torch.inference_mode():
        hidden = lm.forward_cached(embed(torch.tensor([input_ids])), 0, cache)
        out = [lm.model.lm_head(hidden).float().log_softmax(-1)[0]]
        for offset, token in enumerate(fed):
            hidden = lm.forward_cached(embed(torch.tensor([[token]])), len(input_ids) + offset, cache)
            out.append(lm.model.lm_head(hidden).float().log_softmax(-1)[0])
    return out


def test_cache_is_preallocated_bounded_and_reuses_freed_blocks(lm):
    cache = _cache(lm, capacity=100, block=16)
    assert cache.n_blocks == 6 and cache.capacity_tokens == 96
    per_position = 2 * len(lm.model.model.layers) * lm.n_kv_heads * lm.head_dim * 4
    assert cache.nbytes == per_position * 16 * 7  # six blocks plus the scratch block, fp32
    first = cache.allocate(40)
    second = cache.allocate(48)
    assert first == [0, 1, 2] and second == [3, 4, 5]
    assert cache.allocate(1) is None and cache.used_tokens == 96
    cache.free(first)
    assert cache.allocate(33) == [0, 1, 2]
    assert not cache.fits_ever(97) and cache.fits_ever(96)
    assert cache.slots([4, 1], 14, 4) == [4 * 16 + 14, 4 * 16 + 15, 16, 17]


def test_bucket_sizes_skip_two_and_are_capped_at_the_batch_limit():
    assert [bucket_size(n, 16) for n in (1, 2, 3, 5, 8, 9, 16)] == [1, 4, 4, 8, 8, 16, 16]
    assert bucket_size(2, 2) == 2 and bucket_size(5, 6) == 6 and bucket_size(7, 6) == 7


@pytest.mark.parametrize("static_shapes", [False, True])
def test_batched_logits_equal_serial_logits_for_ragged_sequences(lm, static_shapes):
    cache = _cache(lm)
    decoder = BatchDecoder(lm, cache, max_rows=8, static_shapes=static_shapes)
    inputs = [lm.build_input_ids(*case) for case in CASES]
    fed = [[1030 + 7 * k + i for i in range(5)] for k in range(len(CASES))]
    serial = [_serial_logits(lm, ids, tokens) for ids, tokens in zip(inputs, fed, strict=True)]
    tables = [cache.allocate(len(ids) + 8) for ids in inputs]
    with torch.inference_mode():
        for k, ids in enumerate(inputs):
            # a chunked prefill (two pieces) gives the serial prompt's log-probs
            cut = len(ids) // 2
            decoder.prefill(tables[k], ids[:cut], 0)
            last = decoder.prefill(tables[k], ids[cut:], cut)
            torch.testing.assert_close(decoder.log_probs(last[None])[0], serial[k][0], atol=1e-5, rtol=1e-5)
        for step in range(5):
            positions = [len(ids) + step for ids in inputs]
            hidden = decoder.decode(tables, [tokens[step] for tokens in fed], positions)  # 3 rows, bucket 4
            logp = decoder.log_probs(hidden)
            assert logp.shape[0] == len(CASES)
            for k in range(len(CASES)):
                torch.testing.assert_close(logp[k], serial[k][step + 1], atol=1e-5, rtol=1e-5)


def test_freed_blocks_are_reused_without_leaking_old_keys(lm):
    cache = _cache(lm, capacity=128)
    decoder = BatchDecoder(lm, cache, max_rows=4)
    long_ids, short_ids = lm.build_input_ids(*CASES[2]), lm.build_input_ids(*CASES[0])
    with torch.inference_mode():
        table = cache.allocate(len(long_ids) + 1)
        decoder.prefill(table, long_ids, 0)
        cache.free(table)
        reused = cache.allocate(len(short_ids) + 2)
        assert set(reused) <= set(table)  # the same (dirty) blocks
        last = decoder.prefill(reused, short_ids, 0)
        step = decoder.decode([reused], [1040], [len(short_ids)])
        logp = decoder.log_probs(torch.cat([last[None], step]))
    serial = _serial_logits(lm, short_ids, [1040])
    torch.testing.assert_close(logp[0], serial[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logp[1], serial[1], atol=1e-5, rtol=1e-5)


def _serial_tokens(lm: SpeechTokenLM, case, options: SamplingOptions, seed: int) -> list[int]:
    generator = torch.Generator().manual_seed(seed)
    return list(lm.generate(*case, build_sampler(options), generator, LIMITS))


def _batched_tokens(lm, cases, options, seeds, limits: BatchLimits) -> list[list[int]]:
    scheduler = StepScheduler(lm, limits)
    sequences = [
        scheduler.submit(*case, build_sampler(options), torch.Generator().manual_seed(seed), LIMITS)
        for case, seed in zip(cases, seeds, strict=True)
    ]
    while scheduler.n_in_flight:
        scheduler.run_step()
        assert scheduler.cache.used_tokens <= scheduler.cache.capacity_tokens
    return [list(sequence.ready) for sequence in sequences]


@pytest.mark.parametrize("strategy", ["greedy", "ras", "topk"])
@pytest.mark.parametrize("max_batch", [1, 2, 8])
def test_each_request_draws_its_serial_tokens_whatever_its_batch_mates(lm, strategy, max_batch):
    options = SamplingOptions(strategy=strategy)
    cases = CASES * 2  # six sequences of three prompt/text lengths, each with its own seed
    seeds = [3, 4, 5, 6, 7, 8]
    expected = [_serial_tokens(lm, case, options, seed) for case, seed in zip(cases, seeds, strict=True)]
    limits = BatchLimits(max_sequences=max_batch, token_budget=24, kv_capacity_tokens=4096)
    assert _batched_tokens(lm, cases, options, seeds, limits) == expected
    assert all(len(tokens) >= len(case[1]) for tokens, case in zip(expected, cases, strict=True))


def test_a_segment_larger_than_the_whole_cache_is_refused(lm):
    scheduler = StepScheduler(lm, BatchLimits(max_sequences=2, token_budget=64, kv_capacity_tokens=64))
    with pytest.raises(TextTooLongError, match="kv_capacity_tokens"):
        scheduler.submit(*CASES[2], build_sampler(SamplingOptions()), None, LIMITS)
    assert scheduler.n_in_flight == 0
