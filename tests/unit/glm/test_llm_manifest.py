"""Modules built at the real sizes (on the meta device) have exactly the official keys and shapes."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.glm.llm import build_llama_on_meta  # noqa: E402
from glmtts.engines.glm.speech_tokenizer import WhisperVQSettings, build_whisper_vq_encoder  # noqa: E402


def _manifest(ref_dir, name: str) -> dict:
    return json.loads((ref_dir / "manifests" / f"{name}.json").read_text())


def _shapes(module) -> dict[str, list[int]]:
    return {key: list(value.shape) for key, value in module.state_dict().items()}


def test_llm_real_size_keys_and_shapes(ref_dir):
    manifest = _manifest(ref_dir, "llm")
    model = build_llama_on_meta(manifest["config"])
    assert _shapes(model) == {entry["key"]: entry["shape"] for entry in manifest["keys"]}
    assert sum(p.numel() for p in model.parameters()) == manifest["num_parameters"]


def test_speech_tokenizer_real_size_keys_and_shapes(ref_dir, tmp_path):
    manifest = _manifest(ref_dir, "speech_tokenizer")
    settings = WhisperVQSettings.from_config(manifest["config"], tmp_path / "config.json")
    with torch.device("meta"):
        encoder = build_whisper_vq_encoder(settings)
    assert _shapes(encoder) == {entry["key"]: entry["shape"] for entry in manifest["keys"]}
    assert sum(p.numel() for p in encoder.parameters()) == manifest["num_parameters"]
