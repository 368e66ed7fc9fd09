"""HiFT vocoder against the reference recording, both weight-norm spellings, and bad checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.glm.hift import HiFTVocoder  # noqa: E402
from glmtts.engines.glm.hift_source import HiFTNoise  # noqa: E402
from glmtts.errors import CheckpointError  # noqa: E402
from tests.support.glm.reference import recorded_case, ref_ckpt  # noqa: E402

HIFT_PT = ref_ckpt() / "hift" / "hift.pt"
SEED = 2024

case = recorded_case("hift")


@pytest.fixture(scope="module")
def vocoder() -> HiFTVocoder:
    return HiFTVocoder.from_file(HIFT_PT)


def _recorded_noise(case: dict[str, np.ndarray]) -> HiFTNoise:
    return HiFTNoise(
        initial_phase=torch.from_numpy(case["rng_00_rand"]),
        sine_noise=torch.from_numpy(case["rng_01_randn_like"]),
        branch_noise=torch.from_numpy(case["rng_02_randn_like"]),
    )


def test_wave_matches_reference_given_recorded_noise(
    case: dict[str, np.ndarray], vocoder: HiFTVocoder
) -> None:
    output = vocoder.vocode(torch.from_numpy(case["mel"]), noise=_recorded_noise(case))
    expected = case["wav"]
    assert output.wave.shape == expected.shape == (1, case["mel"].shape[2] * 480)
    # float32 parity: the vocoder's deep conv stack rounds differently per CPU kernel set (AVX2 / AVX-512,
    # thread count), so the bound is on the error's energy (60 dB below the signal: inaudible, and far
    # above what a wrong layer gives) and a loose peak bound, not on the last bits of one sample.
    error = output.wave.numpy() - expected
    assert 10 * np.log10(np.sum(expected**2) / np.sum(error**2)) >= 60.0
    assert np.abs(error).max() <= 1e-3 * np.abs(expected).max()
    # The sine source integrates F0 over the whole clip, so F0's rounding grows into its phase.
    source = case["source_s"]
    np.testing.assert_allclose(output.source.numpy(), source, atol=1e-3 * np.abs(source).max())
    f0 = case["f0"]
    predicted = vocoder.model.f0_predictor(torch.from_numpy(case["mel"])).detach().numpy()
    np.testing.assert_allclose(predicted, f0, rtol=1e-5, atol=1e-5 * np.abs(f0).max())


def test_seeded_generator_reproduces_upstream_random_stream(
    case: dict[str, np.ndarray], vocoder: HiFTVocoder
) -> None:
    noise = vocoder.draw_noise(case["mel"].shape[2], torch.Generator().manual_seed(SEED))
    recorded = _recorded_noise(case)
    assert torch.equal(noise.initial_phase, recorded.initial_phase)
    assert torch.equal(noise.sine_noise, recorded.sine_noise)
    assert noise.branch_noise is not None and recorded.branch_noise is not None
    assert torch.equal(noise.branch_noise, recorded.branch_noise)


def test_legacy_weight_norm_spelling_gives_identical_audio(
    tmp_path: Path, case: dict[str, np.ndarray], vocoder: HiFTVocoder
) -> None:
    state = torch.load(HIFT_PT, weights_only=True)
    legacy = {
        key.replace("parametrizations.weight.original0", "weight_g").replace(
            "parametrizations.weight.original1", "weight_v"
        ): value
        for key, value in state.items()
    }
    assert any(key.endswith("weight_g") for key in legacy)
    torch.save(legacy, tmp_path / "hift.pt")
    legacy_vocoder = HiFTVocoder.from_file(tmp_path / "hift.pt")
    mel = torch.from_numpy(case["mel"][:, :, :8])
    noise = vocoder.draw_noise(8, torch.Generator().manual_seed(SEED))
    assert torch.equal(legacy_vocoder(mel, noise=noise), vocoder(mel, noise=noise))


def test_bad_checkpoints_name_the_file_and_key(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="missing checkpoint file"):
        HiFTVocoder.from_file(tmp_path / "absent.pt")
    state = torch.load(HIFT_PT, weights_only=True)
    state["conv_post.bias"] = torch.zeros(5)
    del state["ups.0.bias"]
    torch.save(state, tmp_path / "hift.pt")
    with pytest.raises(CheckpointError, match=r"ups\.0\.bias.*conv_post\.bias"):
        HiFTVocoder.from_file(tmp_path / "hift.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match=r"junk\.pt"):
        HiFTVocoder.from_file(tmp_path / "junk.pt")


def test_bfloat16_runs_and_stays_close(case: dict[str, np.ndarray], vocoder: HiFTVocoder) -> None:
    half = HiFTVocoder.from_file(HIFT_PT, dtype=torch.bfloat16)
    mel = torch.from_numpy(case["mel"][:, :, :12])
    noise = vocoder.draw_noise(12, torch.Generator().manual_seed(SEED))
    wave = half(mel, noise=noise)
    expected = vocoder(mel, noise=noise)
    assert wave.dtype == torch.float32 and wave.shape == (1, 12 * 480)
    assert torch.isfinite(wave).all()
    correlation = torch.corrcoef(torch.stack([wave[0], expected[0]]))[0, 1]
    assert correlation > 0.9
