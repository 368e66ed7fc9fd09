"""Block-wise streaming: causal and stable prefix, push-size independence, audio quality at the seams."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.glm.mel import MelExtractor  # noqa: E402
from glmtts.engines.glm.token2wav import Token2Wav  # noqa: E402
from glmtts.engines.glm.token2wav_stream import StreamSchedule, Token2WavStream  # noqa: E402
from glmtts.errors import InvalidOptionError  # noqa: E402

REF = Path(__file__).resolve().parents[2] / "data" / "glmtts-ref"
SCHEDULE = StreamSchedule(block_tokens=(25, 40), lookahead_tokens=8, context_tokens=30)
N_TOKENS = 90
SAMPLES_PER_TOKEN = 960


@pytest.fixture(scope="module")
def t2w() -> Token2Wav:
    return Token2Wav.from_checkpoint(REF / "tiny" / "ckpt")


@pytest.fixture(scope="module")
def prompt() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    with np.load(REF / "cases" / "dev" / "token2wav.npz") as data:
        return (
            torch.from_numpy(data["prompt_token"]),
            torch.from_numpy(data["prompt_feat"]),
            torch.from_numpy(data["embedding"]),
        )


@pytest.fixture(scope="module")
def tokens() -> list[int]:
    return torch.randint(0, 1024, (N_TOKENS,), generator=torch.Generator().manual_seed(5)).tolist()


def _stream(t2w: Token2Wav, prompt: tuple[torch.Tensor, ...], seed: int = 1) -> Token2WavStream:
    return t2w.stream(*prompt, generator=torch.Generator().manual_seed(seed), schedule=SCHEDULE)


def _run(stream: Token2WavStream, tokens: list[int], push_size: int) -> list[torch.Tensor]:
    chunks = [stream.push(tokens[i : i + push_size]) for i in range(0, len(tokens), push_size)]
    return [*chunks, stream.finish()]


@pytest.fixture(scope="module")
def token_by_token(t2w: Token2Wav, prompt: tuple[torch.Tensor, ...], tokens: list[int]) -> list[torch.Tensor]:
    return _run(_stream(t2w, prompt), tokens, 1)


def test_first_audio_after_first_block_plus_lookahead(token_by_token: list[torch.Tensor]) -> None:
    first = next(i for i, chunk in enumerate(token_by_token) if chunk.numel())
    assert first == SCHEDULE.block_size(0) + SCHEDULE.lookahead_tokens - 1
    held = SCHEDULE.crossfade_frames * 480
    assert token_by_token[first].numel() == SCHEDULE.block_size(0) * SAMPLES_PER_TOKEN - held


def test_output_length_and_push_size_independence(
    t2w: Token2Wav, prompt: tuple[torch.Tensor, ...], tokens: list[int], token_by_token: list[torch.Tensor]
) -> None:
    whole = torch.cat(token_by_token)
    expected_frames = t2w.flow.n_frames(prompt[0].shape[1] + N_TOKENS) - prompt[1].shape[1]
    assert whole.numel() == expected_frames * 480
    assert torch.equal(torch.cat(_run(_stream(t2w, prompt), tokens, N_TOKENS)), whole)


def test_emitted_prefix_never_depends_on_later_tokens(
    t2w: Token2Wav, prompt: tuple[torch.Tensor, ...], tokens: list[int], token_by_token: list[torch.Tensor]
) -> None:
    partial = _stream(t2w, prompt)
    emitted = torch.cat([partial.push(tokens[:70])])
    assert emitted.numel() > 0
    whole = torch.cat(token_by_token)
    assert torch.equal(whole[: emitted.numel()], emitted)


def test_stream_sounds_like_the_one_shot_render(
    t2w: Token2Wav, prompt: tuple[torch.Tensor, ...], tokens: list[int], token_by_token: list[torch.Tensor]
) -> None:
    streamed = torch.cat(token_by_token)
    one_shot = t2w.token2wav(tokens, *prompt, generator=torch.Generator().manual_seed(1))
    other_seed = t2w.token2wav(tokens, *prompt, generator=torch.Generator().manual_seed(2))
    mel = MelExtractor(24000)
    reference = mel(one_shot[None])
    seed_gap = (reference - mel(other_seed[None])).abs().mean()
    stream_gap = (reference - mel(streamed[None])).abs().mean()
    assert stream_gap < 1.2 * seed_gap
    level_db = 20 * torch.log10(streamed.pow(2).mean().sqrt() / one_shot.pow(2).mean().sqrt())
    assert abs(float(level_db)) < 1.5
    steps = streamed.diff().abs()
    seams = np.cumsum([chunk.numel() for chunk in token_by_token if chunk.numel()])[:-1]
    seam_steps = torch.stack([steps[seam - 2 : seam + 2].max() for seam in seams])
    assert seam_steps.max() <= steps.max()
    assert seam_steps.max() < 4 * steps.quantile(0.99)


def test_invalid_tokens_are_dropped_and_misuse_is_an_error(
    t2w: Token2Wav, prompt: tuple[torch.Tensor, ...], caplog: pytest.LogCaptureFixture
) -> None:
    stream = _stream(t2w, prompt)
    with caplog.at_level(logging.WARNING):
        assert stream.push([5, -897, 4096, 6]).numel() == 0
    assert "dropped 2" in caplog.text
    audio = stream.finish()
    assert audio.numel() == (t2w.flow.n_frames(prompt[0].shape[1] + 2) - prompt[1].shape[1]) * 480
    with pytest.raises(InvalidOptionError, match="finish"):
        stream.push([1])
    assert stream.finish().numel() == 0


@pytest.mark.parametrize("short_by", [1, 2])
def test_prompt_mel_ending_inside_the_last_token_stays_on_the_token_grid(
    t2w: Token2Wav, prompt: tuple[torch.Tensor, ...], tokens: list[int], short_by: int
) -> None:
    """A prompt mel of 2·Tp − k frames: the first block also emits the k frames of the partial prompt
    token (as upstream's one-shot output does), later blocks do not repeat them."""
    prompt_tokens, prompt_mel, embedding = prompt
    short = (prompt_tokens, prompt_mel[:, : 2 * prompt_tokens.shape[1] - short_by], embedding)
    one_shot = t2w.token2wav(tokens, *short, generator=torch.Generator().manual_seed(1))
    assert (
        one_shot.numel() == (t2w.flow.n_frames(prompt_tokens.shape[1] + N_TOKENS) - short[1].shape[1]) * 480
    )
    single = t2w.stream(
        *short, generator=torch.Generator().manual_seed(1), schedule=StreamSchedule.single_block()
    )
    single.push(tokens)
    assert torch.equal(single.finish(), one_shot)
    chunks = _run(_stream(t2w, short), tokens, 1)
    first = next(chunk for chunk in chunks if chunk.numel())
    held = SCHEDULE.crossfade_frames * 480
    assert first.numel() == SCHEDULE.block_size(0) * SAMPLES_PER_TOKEN + short_by * 480 - held
    assert torch.cat(chunks).numel() == one_shot.numel()
    mel = MelExtractor(24000)
    gap = (mel(one_shot[None]) - mel(torch.cat(chunks)[None])).abs().mean()
    other = t2w.token2wav(tokens, *short, generator=torch.Generator().manual_seed(2))
    assert gap < 1.2 * (mel(one_shot[None]) - mel(other[None])).abs().mean()


@pytest.mark.parametrize(
    "kwargs",
    [{"block_tokens": ()}, {"block_tokens": (0,)}, {"lookahead_tokens": -1}, {"crossfade_frames": 20}],
)
def test_bad_schedules_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidOptionError):
        StreamSchedule(**kwargs)  # type: ignore[arg-type]
