"""The quantized-LLM cache: written on the first load, used on the second, rebuilt when the checkpoint changes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchao")

from glmtts.engines.base import SynthesisOptions  # noqa: E402
from glmtts.engines.glm import quant_cache  # noqa: E402
from tests.support.glm.fixtures import load_glm_engine  # noqa: E402

TEXT = "你好。"


@pytest.fixture
def ckpt(tiny_ckpt, tmp_path):
    """A private copy of the tiny checkpoint (these tests rewrite its LLM)."""
    return shutil.copytree(tiny_ckpt, tmp_path / "ckpt")


def _cache_files(cache_dir):
    return sorted((cache_dir / "llm-quant").glob("llm-*.safetensors"))


def _spy_checkpoint_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    original = quant_cache.load_llama

    def load_llama(llm_dir, *args, **kwargs):
        reads.append(str(llm_dir))
        return original(llm_dir, *args, **kwargs)

    monkeypatch.setattr(quant_cache, "load_llama", load_llama)
    return reads


def test_cache_written_then_used_with_the_same_audio(ckpt, tmp_path, monkeypatch) -> None:
    cache_dir = tmp_path / "cache"
    reads = _spy_checkpoint_reads(monkeypatch)
    first = load_glm_engine(ckpt, cache_dir=cache_dir, extra={"llm_quant": "int4"})
    assert first.details()["quantization"]["source"] == "checkpoint" and len(reads) == 1
    (path,) = _cache_files(cache_dir)
    assert first.details()["quantization"]["cache_path"] == str(path)
    with path.open("rb") as handle:  # plain safetensors: JSON header, no pickle
        header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
    assert any(key.endswith("#qdata") for key in header) and "__metadata__" in header

    second = load_glm_engine(ckpt, cache_dir=cache_dir, extra={"llm_quant": "int4"})
    assert second.details()["quantization"]["source"] == "cache"
    assert len(reads) == 1  # the source safetensors were not read again
    assert second.memory_bytes()["llm"] == first.memory_bytes()["llm"]
    assert second.details()["weights_bytes"] == first.details()["weights_bytes"]
    voice = first.builtin_voice()
    options = SynthesisOptions(seed=5)
    assert np.array_equal(first.synthesize(TEXT, voice, options), second.synthesize(TEXT, voice, options))


def test_cache_rebuilt_when_the_checkpoint_changes(ckpt, tmp_path, monkeypatch) -> None:
    from safetensors.torch import load_file, save_file

    cache_dir = tmp_path / "cache"
    load_glm_engine(ckpt, cache_dir=cache_dir, extra={"llm_quant": "int4"})
    (old,) = _cache_files(cache_dir)
    weights_path = ckpt / "llm" / "model.safetensors"
    weights = load_file(str(weights_path))
    weights["model.layers.0.mlp.down_proj.weight"] = weights["model.layers.0.mlp.down_proj.weight"] * 1.5
    save_file(weights, str(weights_path), metadata={"format": "pt"})

    reads = _spy_checkpoint_reads(monkeypatch)
    engine = load_glm_engine(ckpt, cache_dir=cache_dir, extra={"llm_quant": "int4"})
    assert engine.details()["quantization"]["source"] == "checkpoint" and len(reads) == 1
    (new,) = _cache_files(cache_dir)  # the stale file of the same checkpoint and plan was removed
    assert new != old


def test_unreadable_cache_is_ignored_and_rewritten(ckpt, tmp_path) -> None:
    cache_dir = tmp_path / "cache"
    load_glm_engine(ckpt, cache_dir=cache_dir, extra={"llm_quant": "int4"})
    (path,) = _cache_files(cache_dir)
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not a header")
    engine = load_glm_engine(ckpt, cache_dir=cache_dir, extra={"llm_quant": "int4"})
    assert engine.details()["quantization"]["source"] == "checkpoint"
    assert (
        load_glm_engine(ckpt, cache_dir=cache_dir, extra={"llm_quant": "int4"}).details()["quantization"][
            "source"
        ]
        == "cache"
    )


def test_int8_cache_round_trip(ckpt, tmp_path) -> None:
    cache_dir = tmp_path / "cache"
    first = load_glm_engine(ckpt, cache_dir=cache_dir, extra={"llm_quant": "int8"})
    second = load_glm_engine(ckpt, cache_dir=cache_dir, extra={"llm_quant": "int8"})
    assert second.details()["quantization"]["source"] == "cache"
    voice = first.builtin_voice()
    options = SynthesisOptions(seed=3)
    assert np.array_equal(first.synthesize(TEXT, voice, options), second.synthesize(TEXT, voice, options))


def test_plan_override_is_applied_and_cached_apart(ckpt, tmp_path) -> None:
    from glmtts.engines.glm.quantize import QuantPlan, is_quantized

    cache_dir = tmp_path / "cache"
    device, dtype = torch.device("cpu"), torch.bfloat16
    default = quant_cache.load_quantized_llama(ckpt / "llm", device, dtype, "int8", cache_dir)
    plan = QuantPlan("int8", quantize_head=False, compile_linears=False)
    override = quant_cache.load_quantized_llama(ckpt / "llm", device, dtype, "int8", cache_dir, plan=plan)
    assert is_quantized(default.model.lm_head.weight) and not is_quantized(override.model.lm_head.weight)
    assert is_quantized(override.model.model.layers[0].mlp.down_proj.weight)
    assert override.report.plan == plan.tag != default.report.plan
    assert override.report.source == "checkpoint"  # the default plan's cache file is not reused
    assert len(sorted(cache_dir.glob("llm-*.safetensors"))) == 2
    again = quant_cache.load_quantized_llama(ckpt / "llm", device, dtype, "int8", cache_dir, plan=plan)
    assert again.report.source == "cache" and not is_quantized(again.model.lm_head.weight)
