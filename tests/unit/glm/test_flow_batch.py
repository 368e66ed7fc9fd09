"""FlowModel.inference_batch: padded, masked rows give each row's alone output; a batch of one is inference."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.glm.flow import FlowModel, FlowRow  # noqa: E402
from glmtts.errors import InvalidOptionError  # noqa: E402
from tests.support.glm.reference import ref_ckpt  # noqa: E402

#: Float32 rounding of a batched GEMM against a single-row one, accumulated over the Euler steps.
ROW_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def flow() -> FlowModel:
    return FlowModel.from_dir(ref_ckpt() / "flow")


def _rows(flow: FlowModel, lengths: list[tuple[int, int]], seed: int = 5) -> list[FlowRow]:
    """Rows of (prompt tokens, new tokens) lengths with random ids, prompt mel and speaker."""
    gen = torch.Generator().manual_seed(seed)
    vocab, speaker_dim = flow.dit.config.vocab_size, flow.dit.config.speaker_dim
    return [
        FlowRow(
            tokens=torch.randint(0, vocab, (1, n_new), generator=gen),
            prompt_tokens=torch.randint(0, vocab, (1, n_prompt), generator=gen),
            prompt_mel=torch.randn(1, 2 * n_prompt, 80, generator=gen) - 4,
            embedding=torch.randn(1, speaker_dim, generator=gen),
        )
        for n_prompt, n_new in lengths
    ]


def _alone(flow: FlowModel, row: FlowRow, seed: int) -> torch.Tensor:
    return flow.inference(
        row.tokens,
        row.prompt_tokens,
        row.prompt_mel,
        row.embedding,
        generator=torch.Generator().manual_seed(seed),
    )


def test_ragged_rows_batched_equal_each_row_alone(flow: FlowModel) -> None:
    rows = _rows(flow, [(40, 33), (30, 20), (52, 41)])
    generators = [torch.Generator().manual_seed(100 + i) for i in range(len(rows))]
    together = flow.inference_batch(rows, generators=generators)
    for index, (row, mel) in enumerate(zip(rows, together, strict=True)):
        alone = _alone(flow, row, 100 + index)
        assert (
            mel.shape
            == alone.shape
            == (
                1,
                80,
                flow.n_frames(row.prompt_tokens.shape[1] + row.tokens.shape[1]) - row.prompt_mel.shape[1],
            )
        )
        assert float((mel - alone).abs().max()) <= ROW_TOLERANCE
        assert float(alone.std()) > 0.1  # a real mel, not a constant both sides agree on


def test_without_the_mask_padding_would_leak_into_short_rows(flow: FlowModel) -> None:
    short, long = _rows(flow, [(20, 10), (40, 30)], seed=9)
    n_short = flow.n_frames(30)
    n_long = flow.n_frames(70)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, n_long, 80, generator=gen)
    cond = torch.randn(2, n_long, 80, generator=gen)
    speaker = torch.nn.functional.normalize(torch.randn(2, flow.dit.config.speaker_dim, generator=gen), dim=1)
    time = torch.full((2,), 0.3)
    with torch.inference_mode():
        features = torch.cat(
            [
                torch.nn.functional.pad(
                    flow.dit.embed_tokens(torch.cat([r.prompt_tokens, r.tokens], dim=1), n),
                    (0, 0, 0, n_long - n),
                )
                for r, n in ((short, n_short), (long, n_long))
            ]
        )
        mask = torch.arange(n_long)[None] < torch.tensor([n_short, n_long])[:, None]
        masked = flow.dit(x, cond, features, time, speaker, mask)
        unmasked = flow.dit(x, cond, features, time, speaker)
        alone = flow.dit(x[:1, :n_short], cond[:1, :n_short], features[:1, :n_short], time[:1], speaker[:1])
    assert float((masked[:1, :n_short] - alone).abs().max()) <= 1e-5
    assert float((unmasked[:1, :n_short] - alone).abs().max()) > 1e-3
    assert float((masked[1:] - unmasked[1:]).abs().max()) <= 1e-5  # the longest row has no padding


def test_a_batch_of_one_is_inference_bit_for_bit(flow: FlowModel) -> None:
    (row,) = _rows(flow, [(40, 33)])
    (batched,) = flow.inference_batch([row], generators=[torch.Generator().manual_seed(1)])
    assert torch.equal(batched, _alone(flow, row, 1))


def test_generators_must_match_rows(flow: FlowModel) -> None:
    rows = _rows(flow, [(10, 5), (12, 6)])
    with pytest.raises(InvalidOptionError):
        flow.inference_batch(rows, generators=[None])
    with pytest.raises(InvalidOptionError):
        flow.inference_batch([])
