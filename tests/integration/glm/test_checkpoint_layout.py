"""Checkpoint discovery and safe loading: every missing or malformed piece is a CheckpointError naming it."""

from __future__ import annotations

import shutil

import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.glm.checkpoint import (  # noqa: E402
    check_state_dict,
    discover_layout,
    load_torch_state_dict,
    read_tagged_yaml,
    resolve_device,
    resolve_dtype,
)
from glmtts.engines.glm.llm import SpecialTokenIds, SpeechTokenLM  # noqa: E402
from glmtts.errors import CheckpointError, InvalidOptionError  # noqa: E402
from tests.support.glm.fixtures import REF_CKPT, REF_SPECIAL_IDS  # noqa: E402


class _Payload:
    """Arbitrary object: a pickle holding it must not load with weights_only=True."""

    def __reduce__(self):
        return (print, ("code ran",))


@pytest.fixture()
def ckpt_copy(tiny_ckpt, tmp_path):
    target = tmp_path / "ckpt"
    shutil.copytree(tiny_ckpt, target)
    return target


def test_tiny_checkpoint_layout(tiny_ckpt):
    layout = discover_layout(tiny_ckpt)
    assert layout.campplus_path == tiny_ckpt / "campplus.onnx"
    assert layout.default_prompt_wav is not None and layout.vocos_dir is None


@pytest.mark.parametrize(
    ("victim", "message"),
    [
        ("llm/config.json", "LLM config"),
        ("llm/model.safetensors", "LLM weights"),
        ("vq32k-phoneme-tokenizer/tokenizer.model", "rank table"),
        ("speech_tokenizer", "speech tokenizer"),
        ("flow/config.yaml", "flow config"),
        ("hift/hift.pt", "HiFT"),
        ("campplus.onnx", "campplus.onnx"),
    ],
)
def test_missing_pieces_are_named(ckpt_copy, victim, message):
    path = ckpt_copy / victim
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    with pytest.raises(CheckpointError, match=message) as info:
        discover_layout(ckpt_copy)
    assert "download" in info.value.message or "copy" in info.value.message


def test_campplus_found_in_sibling_frontend_dir(ckpt_copy):
    (ckpt_copy.parent / "frontend").mkdir()
    (ckpt_copy / "campplus.onnx").rename(ckpt_copy.parent / "frontend" / "campplus.onnx")
    assert discover_layout(ckpt_copy).campplus_path == ckpt_copy.parent / "frontend" / "campplus.onnx"


def test_no_directory_at_all(tmp_path):
    with pytest.raises(CheckpointError, match="--ckpt"):
        discover_layout(None)
    with pytest.raises(CheckpointError, match="does not exist"):
        discover_layout(tmp_path / "nowhere")


def test_yaml_tags_are_read_as_data():
    data = read_tagged_yaml(REF_CKPT / "flow" / "config.yaml")
    assert data["flow"]["_tag"] == "!new:flow.flow.Flow"
    assert data["flow"]["vocab_size"] == 1024 and data["tiny_dit_override"]["depth"] == 2


def test_unsafe_pickle_is_refused(tmp_path):
    path = tmp_path / "flow.pt"
    torch.save({"weight": torch.zeros(2), "payload": _Payload()}, path)
    with pytest.raises(CheckpointError, match="weights_only"):
        load_torch_state_dict(path)
    torch.save({"model": {"weight": torch.ones(2)}}, path)
    assert list(load_torch_state_dict(path)) == ["weight"]


def test_state_dict_mismatch_names_the_key():
    expected = {"a.weight": (2, 3), "b.bias": (3,)}
    with pytest.raises(CheckpointError, match=r"'a\.weight' has shape \[3, 2\]"):
        check_state_dict(expected, {"a.weight": torch.zeros(3, 2), "b.bias": torch.zeros(3)}, "x.pt")
    with pytest.raises(CheckpointError, match="missing 1 tensor"):
        check_state_dict(expected, {"a.weight": torch.zeros(2, 3)}, "x.pt")
    with pytest.raises(CheckpointError, match="unexpected"):
        check_state_dict(
            expected, {"a.weight": torch.zeros(2, 3), "b.bias": torch.zeros(3), "c": torch.zeros(1)}, "x"
        )


def test_llm_with_wrong_shapes_is_rejected(tmp_path):
    from safetensors.torch import load_file, save_file

    llm_dir = tmp_path / "llm"
    shutil.copytree(REF_CKPT / "llm", llm_dir)
    weights = load_file(llm_dir / "model.safetensors")
    weights["model.norm.weight"] = torch.ones(32)
    save_file(weights, llm_dir / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"model\.norm\.weight"):
        SpeechTokenLM.load(llm_dir, SpecialTokenIds(**REF_SPECIAL_IDS))


def test_device_and_dtype_parsing():
    assert resolve_dtype("bfloat16") == torch.bfloat16
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(InvalidOptionError):
        resolve_dtype("float8")
    with pytest.raises(InvalidOptionError):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidOptionError, match="CUDA"):
            resolve_device("cuda")
