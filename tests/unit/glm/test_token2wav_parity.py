"""Token-to-wav end to end against the reference recording; one-shot equals the single-block stream."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.glm.hift_source import HiFTNoise  # noqa: E402
from glmtts.engines.glm.mel import MelExtractor  # noqa: E402
from glmtts.engines.glm.token2wav import Token2Wav, Token2WavNoise  # noqa: E402
from glmtts.engines.glm.token2wav_stream import StreamSchedule  # noqa: E402
from glmtts.errors import InvalidOptionError  # noqa: E402
from tests.support.glm.reference import recorded_case, ref_ckpt  # noqa: E402

SEED = 2024

case = recorded_case("token2wav")


@pytest.fixture(scope="module")
def t2w() -> Token2Wav:
    return Token2Wav.from_checkpoint(ref_ckpt())


def _prompt(case: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (
        torch.from_numpy(case["prompt_token"]),
        torch.from_numpy(case["prompt_feat"]),
        torch.from_numpy(case["embedding"]),
    )


def _assert_close_to_reference(wave: torch.Tensor, expected: np.ndarray) -> None:
    assert wave.shape == expected.shape
    error = wave.numpy() - expected
    assert np.abs(error).max() <= 1e-4
    assert np.linalg.norm(error) / np.linalg.norm(expected) <= 1e-4


def test_matches_reference_given_recorded_noise(case: dict[str, np.ndarray], t2w: Token2Wav) -> None:
    noise = Token2WavNoise(
        flow=torch.from_numpy(case["rng_00_randn_like"]),
        vocoder=HiFTNoise(
            torch.from_numpy(case["rng_01_rand"]),
            torch.from_numpy(case["rng_02_randn_like"]),
            torch.from_numpy(case["rng_03_randn_like"]),
        ),
    )
    wave = t2w.token2wav(case["tokens"].tolist(), *_prompt(case), noise=noise)
    _assert_close_to_reference(wave, case["wav"][0])


def test_seeded_generator_reproduces_upstream(case: dict[str, np.ndarray], t2w: Token2Wav) -> None:
    wave = t2w.token2wav(
        torch.from_numpy(case["tokens"]), *_prompt(case), generator=torch.Generator().manual_seed(SEED)
    )
    _assert_close_to_reference(wave, case["wav"][0])


def test_drained_single_block_stream_equals_one_shot(case: dict[str, np.ndarray], t2w: Token2Wav) -> None:
    tokens = case["tokens"].tolist()
    one_shot = t2w.token2wav(tokens, *_prompt(case), generator=torch.Generator().manual_seed(SEED))
    stream = t2w.stream(
        *_prompt(case), generator=torch.Generator().manual_seed(SEED), schedule=StreamSchedule.single_block()
    )
    pushed = [stream.push(tokens[:4]), stream.push(tokens[4:])]
    assert all(chunk.numel() == 0 for chunk in pushed)
    assert torch.equal(stream.finish(), one_shot)
    assert stream.n_emitted_samples == one_shot.numel()


def test_bad_inputs_are_typed_errors(case: dict[str, np.ndarray], t2w: Token2Wav) -> None:
    prompt_tokens, prompt_mel, embedding = _prompt(case)
    with pytest.raises(InvalidOptionError, match=r"\[0, 1024\)"):
        t2w.token2wav([3, 1024], prompt_tokens, prompt_mel, embedding)
    with pytest.raises(InvalidOptionError, match="192"):
        t2w.token2wav([3, 4], prompt_tokens, prompt_mel, embedding[:, :10])
    with pytest.raises(InvalidOptionError, match="prompt mel"):
        t2w.token2wav([3, 4], prompt_tokens, prompt_mel[:, :, :40], embedding)
    with pytest.raises(InvalidOptionError):
        t2w.token2wav([], prompt_tokens, prompt_mel, embedding)


def test_bfloat16_end_to_end_stays_close(case: dict[str, np.ndarray]) -> None:
    half = Token2Wav.from_checkpoint(ref_ckpt(), dtype=torch.bfloat16)
    wave = half.token2wav(
        case["tokens"].tolist(), *_prompt(case), generator=torch.Generator().manual_seed(SEED)
    )
    expected = torch.from_numpy(case["wav"][0])
    assert wave.dtype == torch.float32 and wave.shape == expected.shape
    # Closeness is judged on the log-mel spectrum against what another seed gives: waveform correlation
    # cannot tell (another seed's float32 output still correlates ~0.93 with the reference), and bf16
    # rounding differs by CPU (AVX2 / AVX-512). bf16 must sit far closer to the reference than a redraw.
    full = Token2Wav.from_checkpoint(ref_ckpt())
    redrawn = full.token2wav(
        case["tokens"].tolist(), *_prompt(case), generator=torch.Generator().manual_seed(SEED + 1)
    )
    mel = MelExtractor(24_000)
    reference = mel(expected).flatten()

    def distance(other: torch.Tensor) -> float:
        return 1.0 - float(torch.corrcoef(torch.stack([mel(other).flatten(), reference]))[0, 1])

    assert distance(wave) < 0.5 * distance(redrawn)
