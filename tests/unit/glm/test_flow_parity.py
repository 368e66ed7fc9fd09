"""Flow DiT and sampler against the reference recordings; config read as data; bad checkpoints."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.glm.flow import FlowConfig, FlowModel  # noqa: E402
from glmtts.errors import CheckpointError, InvalidOptionError  # noqa: E402
from tests.support.glm.reference import recorded_case, ref_ckpt  # noqa: E402

FLOW_DIR = ref_ckpt() / "flow"
SEED = 2024

case = recorded_case("flow")


@pytest.fixture(scope="module")
def flow() -> FlowModel:
    return FlowModel.from_dir(FLOW_DIR)


def _inputs(case: dict[str, np.ndarray]) -> tuple[torch.Tensor, ...]:
    names = ("token", "prompt_token", "prompt_feat", "embedding")
    return tuple(torch.from_numpy(case[name]) for name in names)


def _n_new_frames(flow: FlowModel, case: dict[str, np.ndarray]) -> int:
    n_tokens = case["prompt_token"].shape[1] + case["token"].shape[1]
    return flow.n_frames(n_tokens) - case["prompt_feat"].shape[1]


def test_sizes_come_from_config_and_weights(flow: FlowModel) -> None:
    dit = flow.dit.config
    assert (dit.dim, dit.depth, dit.heads, dit.text_dim, dit.vocab_size) == (128, 2, 2, 64, 1024)
    assert flow.config == FlowConfig(speech_token_dim=64, vocab_size=1024)


def test_dit_matches_reference_direct_call(case: dict[str, np.ndarray], flow: FlowModel) -> None:
    x, cond = torch.from_numpy(case["dit_x"]), torch.from_numpy(case["dit_cond"])
    speaker, time = torch.from_numpy(case["dit_spk_normed"]), torch.from_numpy(case["dit_t"])
    with torch.inference_mode():
        features = flow.dit.embed_tokens(torch.from_numpy(case["dit_text"]), x.shape[1])
        out_cond = flow.dit(x, cond, features, time, speaker)
        out_uncond = flow.dit(x, torch.zeros_like(cond), features, time, torch.zeros_like(speaker))
    np.testing.assert_allclose(out_cond.numpy(), case["dit_out_cond"], atol=1e-5)
    np.testing.assert_allclose(out_uncond.numpy(), case["dit_out_uncond"], atol=1e-5)


def test_mel_matches_reference_given_recorded_noise(case: dict[str, np.ndarray], flow: FlowModel) -> None:
    trajectory: dict[int, torch.Tensor] = {}
    mel = flow.inference(
        *_inputs(case),
        noise=torch.from_numpy(case["rng_00_randn_like"]),
        on_step=lambda step, x: trajectory.__setitem__(step, x.clone()),
    )
    expected = case["mel_out"]
    assert mel.shape == expected.shape == (1, 80, _n_new_frames(flow, case))
    relative = np.linalg.norm(mel.numpy() - expected) / np.linalg.norm(expected)
    assert relative <= 1e-4
    assert np.abs(mel.numpy() - expected).max() <= 1e-4
    for step in range(1, 11):
        np.testing.assert_allclose(trajectory[step].numpy(), case[f"euler_x_in_step{step:02d}"], atol=1e-5)


def test_seeded_generator_draws_the_recorded_noise(case: dict[str, np.ndarray], flow: FlowModel) -> None:
    noise = flow.draw_noise(case["rng_00_randn_like"].shape[1], torch.Generator().manual_seed(SEED))
    assert torch.equal(noise, torch.from_numpy(case["rng_00_randn_like"]))


def test_frame_count_keeps_upstream_float_rounding(flow: FlowModel) -> None:
    assert [flow.n_frames(n) for n in (21, 29, 57, 58, 100)] == [42, 57, 113, 115, 200]


def test_yaml_tags_are_read_as_data_never_constructed(tmp_path: Path) -> None:
    shutil.copy(FLOW_DIR / "flow.pt", tmp_path / "flow.pt")
    text = (FLOW_DIR / "config.yaml").read_text(encoding="utf-8")
    text += "\nhook: !new:os.system\n    command: exit 3\nother: !name:builtins.print\nref: !ref <flow>\n"
    (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
    loaded = FlowModel.from_dir(tmp_path)
    assert loaded.dit.config.dim == 128


def test_bad_flow_dirs_raise_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"config\.yaml"):
        FlowModel.from_dir(tmp_path)
    shutil.copy(FLOW_DIR / "config.yaml", tmp_path / "config.yaml")
    with pytest.raises(CheckpointError, match=r"flow\.pt"):
        FlowModel.from_dir(tmp_path)
    state = torch.load(FLOW_DIR / "flow.pt", weights_only=True)
    state["estimator.proj_out.bias"] = torch.zeros(7)
    torch.save(state, tmp_path / "flow.pt")
    with pytest.raises(CheckpointError, match=r"proj_out\.bias"):
        FlowModel.from_dir(tmp_path)
    (tmp_path / "config.yaml").write_text(
        "flow: !new:flow.flow.Flow\n    t_scheduler: linear\n", encoding="utf-8"
    )
    with pytest.raises(CheckpointError, match="t_scheduler"):
        FlowModel.from_dir(tmp_path)


def test_bad_inputs_are_typed_errors(case: dict[str, np.ndarray], flow: FlowModel) -> None:
    token, prompt_token, prompt_feat, embedding = _inputs(case)
    with pytest.raises(InvalidOptionError):
        flow.inference(token[:, :0], prompt_token, prompt_feat, embedding)
    with pytest.raises(InvalidOptionError, match="noise"):
        flow.inference(token, prompt_token, prompt_feat, embedding, noise=torch.zeros(1, 5, 80))


def test_bfloat16_flow_runs_and_stays_close(case: dict[str, np.ndarray], flow: FlowModel) -> None:
    half = FlowModel.from_dir(FLOW_DIR, dtype=torch.bfloat16)
    noise = torch.from_numpy(case["rng_00_randn_like"])
    mel = half.inference(*_inputs(case), noise=noise, n_timesteps=3)
    reference = flow.inference(*_inputs(case), noise=noise, n_timesteps=3)
    assert mel.dtype == torch.float32 and mel.shape == (1, 80, _n_new_frames(flow, case))
    assert (mel - reference).abs().mean() < 0.05 * reference.abs().mean()
