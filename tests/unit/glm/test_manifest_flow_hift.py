"""The flow and HiFT modules at the REAL sizes expect exactly the keys and shapes of the manifests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.glm.dit import DiT, DiTConfig  # noqa: E402
from glmtts.engines.glm.flow import FlowConfig, FlowModel  # noqa: E402
from glmtts.engines.glm.hift import HiFTConfig, HiFTGenerator, HiFTVocoder  # noqa: E402
from glmtts.engines.glm.weight_norm import checkpoint_shapes  # noqa: E402

MANIFESTS = Path(__file__).resolve().parents[2] / "data" / "glmtts-ref" / "manifests"


def _manifest(name: str) -> dict[str, Any]:
    return json.loads((MANIFESTS / f"{name}.json").read_text(encoding="utf-8"))


def _shapes(entries: list[dict[str, Any]]) -> dict[str, tuple[int, ...]]:
    return {entry["key"]: tuple(entry["shape"]) for entry in entries}


def test_flow_keys_and_shapes_match_manifest() -> None:
    with torch.device("meta"):
        dit = DiT(DiTConfig())
    ours = {"estimator." + key: tuple(value.shape) for key, value in dit.state_dict().items()}
    manifest = _manifest("flow")
    assert ours == _shapes(manifest["keys"])
    assert sum(p.numel() for p in dit.parameters()) == manifest["num_parameters"]


def test_real_flow_sizes_are_read_from_the_weights(tmp_path: Path) -> None:
    manifest = _manifest("flow")
    (tmp_path / "config.yaml").write_text(manifest["config_yaml"], encoding="utf-8")
    config, override = FlowConfig.from_yaml(tmp_path / "config.yaml")
    state = {entry["key"]: torch.empty(entry["shape"], device="meta") for entry in manifest["keys"]}
    flow = FlowModel.from_state_dict(state, config, override, tmp_path / "flow.pt", device="meta")
    assert flow.dit.config == DiTConfig(dim=768, depth=18, heads=12, text_dim=512, vocab_size=100000)
    assert config == FlowConfig()


def test_hift_keys_and_shapes_match_manifest_in_both_spellings() -> None:
    with torch.device("meta"):
        generator = HiFTGenerator(HiFTConfig())
    manifest = _manifest("hift")
    ours = checkpoint_shapes(generator)
    assert ours == _shapes(manifest["keys"])
    renamed = {new: manifest_key for manifest_key, new in manifest["parametrizations_to_legacy"].items()}
    legacy = {renamed[key]: shape for key, shape in _shapes(manifest["legacy_weight_norm_keys"]).items()}
    assert legacy == ours
    assert sum(p.numel() for p in generator.parameters()) == manifest["num_parameters"] - sum(
        shape[0] for key, shape in ours.items() if key.endswith("original0")
    )


@pytest.mark.parametrize("spelling", ["parametrizations", "legacy"])
def test_real_size_hift_loads_from_either_spelling(spelling: str) -> None:
    manifest = _manifest("hift")
    entries = manifest["keys"] if spelling == "parametrizations" else manifest["legacy_weight_norm_keys"]
    state = {entry["key"]: torch.full(entry["shape"], 0.01) for entry in entries}
    vocoder = HiFTVocoder.from_state_dict(state, Path(f"{spelling}/hift.pt"))
    assert vocoder.config == HiFTConfig()
    assert vocoder.samples_per_frame == 480
    wave = vocoder(torch.zeros(1, 80, 2), generator=torch.Generator().manual_seed(0))
    assert wave.shape == (1, 960) and torch.isfinite(wave).all()
