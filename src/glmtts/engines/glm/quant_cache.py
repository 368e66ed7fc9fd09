"""Load the LLM quantized, from a safetensors cache of its quantized weights when one matches the checkpoint.

The cache file ``<cache_dir>/llm-<key>.safetensors`` holds every tensor of the quantized LLM. torchao's
quantized weights are tensor subclasses, which safetensors cannot store, so each is stored as its plain
inner tensors (``<name>#qdata``, ``<name>#scale``, …) and its attributes (block size, dtype, shape) go into
the file's JSON metadata with the subclass name; loading rebuilds the subclass with torchao's own
``__tensor_unflatten__`` from an allow-list of classes. Nothing is unpickled and no code from the file runs.

``key`` hashes the source checkpoint (per ``llm/*.safetensors`` file: name, size, mtime and a BLAKE2 hash of
its header and of three 1 MiB samples; hashing all 7 GB would cost what the cache saves), the plan, the dtype,
the device type and the torch/torchao versions. A changed checkpoint gets a new key, so its cache is
rebuilt; older cache files of the same checkpoint directory and plan are deleted then. A cache that cannot be
read is ignored (with a warning) and rebuilt; a cache that cannot be written never fails the load.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glmtts.engines.glm.checkpoint import read_json, safetensor_files
from glmtts.engines.glm.llm import assign_llama_weights, build_llama_on_meta, load_llama
from glmtts.engines.glm.quantize import (
    QuantPlan,
    QuantReport,
    is_quantized,
    module_bytes,
    plan_for,
    prepare_for_inference,
    quantize_llm,
)
from glmtts.errors import CheckpointError

if TYPE_CHECKING:
    import torch

_LOGGER = logging.getLogger(__name__)

CACHE_FORMAT = 1
_SAMPLE_BYTES = 1 << 20
_META_KEY = "glmtts"


@dataclass(frozen=True)
class QuantizedLlama:
    model: Any
    report: QuantReport


def default_cache_dir() -> Path:
    """``<user cache dir>/glmtts/llm-quant``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("glmtts")) / "llm-quant"


def load_quantized_llama(
    llm_dir: Path,
    device: torch.device,
    dtype: torch.dtype,
    mode: str,
    cache_dir: Path | None,
    plan: QuantPlan | None = None,
) -> QuantizedLlama:
    """The LLM of ``llm_dir`` with ``mode`` weights: from the cache in ``cache_dir`` or quantized now.

    ``plan`` overrides :func:`plan_for`'s default plan of ``mode`` (benchmarks compare plan variants; the
    plan's tag is part of the cache key, so variants never share a cache file).
    """
    started = time.perf_counter()
    model = build_llama_on_meta(read_json(llm_dir / "config.json"))
    plan = plan if plan is not None else plan_for(mode, model, device)
    if plan is None:
        raise ValueError("load_quantized_llama needs int8 or int4")
    directory = cache_dir if cache_dir is not None else default_cache_dir()
    path = directory / f"llm-{cache_key(llm_dir, plan, dtype, device)}.safetensors"
    bytes_before = _read_cache(path, model, device) if path.is_file() else None
    source = "cache"
    if bytes_before is None:
        source = "checkpoint"
        model = load_llama(llm_dir, device, dtype)
        bytes_before = module_bytes(model)
        quantize_llm(model, plan, device)
        _write_cache(path, model, llm_dir, plan, bytes_before)
    prepare_for_inference(model, plan)
    report = QuantReport(
        mode, plan.tag, source, path if path.is_file() else None, bytes_before, module_bytes(model),
        time.perf_counter() - started,
    )  # fmt: skip
    _LOGGER.info(
        "LLM %s (%s) from %s in %.1f s: %d -> %d bytes",
        mode, plan.tag, source, report.load_s, bytes_before, report.bytes_after,
    )  # fmt: skip
    return QuantizedLlama(model, report)


def source_fingerprint(llm_dir: Path) -> str:
    """A hash of the LLM safetensors files: names, sizes, mtimes, headers and sampled content."""
    digest = hashlib.blake2b(digest_size=20)
    for path in safetensor_files(llm_dir, "LLM"):
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        with path.open("rb") as handle:
            header_len = int.from_bytes(handle.read(8), "little")
            digest.update(handle.read(min(header_len, 100_000_000)))
            for offset in (0, stat.st_size // 2, max(0, stat.st_size - _SAMPLE_BYTES)):
                handle.seek(offset)
                digest.update(handle.read(_SAMPLE_BYTES))
    return digest.hexdigest()


def cache_key(llm_dir: Path, plan: QuantPlan, dtype: torch.dtype, device: torch.device) -> str:
    """The cache file key of ``llm_dir`` quantized by ``plan`` in ``dtype`` on ``device``'s type."""
    import torch
    import torchao

    parts = (
        CACHE_FORMAT, source_fingerprint(llm_dir), plan.tag, str(dtype), device.type, torch.__version__,
        torchao.__version__,
    )  # fmt: skip
    return hashlib.sha256("\n".join(map(str, parts)).encode()).hexdigest()[:32]


def _write_cache(path: Path, model: Any, llm_dir: Path, plan: QuantPlan, bytes_before: int) -> None:
    from safetensors.torch import save_file

    try:
        tensors, subclasses = _flatten_state(model)
    except _Unstorable as exc:
        _LOGGER.warning("not caching the quantized LLM: %s", exc)
        return
    meta = {"format": CACHE_FORMAT, "llm_dir": str(llm_dir.resolve()), "plan": plan.tag,
            "bytes_before": bytes_before, "subclasses": subclasses}  # fmt: skip
    partial = path.with_suffix(".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(partial), metadata={_META_KEY: json.dumps(meta)})
        partial.replace(path)
    except OSError as exc:
        _LOGGER.warning("cannot write the quantized LLM cache %s: %s", path, exc)
        partial.unlink(missing_ok=True)
        return
    _LOGGER.info("wrote the quantized LLM cache %s (%d bytes)", path, path.stat().st_size)
    _remove_stale(path, meta)


def _remove_stale(current: Path, meta: dict[str, Any]) -> None:
    """Delete other cache files of the same checkpoint directory and plan (the checkpoint changed)."""
    from safetensors import SafetensorError, safe_open

    for other in current.parent.glob("llm-*.safetensors"):
        if other == current:
            continue
        try:
            with safe_open(str(other), framework="pt") as handle:
                found = json.loads((handle.metadata() or {}).get(_META_KEY, "{}"))
        except (OSError, SafetensorError, json.JSONDecodeError):
            continue
        if found.get("llm_dir") == meta["llm_dir"] and found.get("plan") == meta["plan"]:
            _LOGGER.info("removing stale quantized LLM cache %s", other)
            other.unlink(missing_ok=True)


def _flatten_state(model: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Plain tensors to store and the subclass description of every quantized weight."""
    tensors: dict[str, Any] = {}
    subclasses: dict[str, Any] = {}
    skip_head = bool(model.config.tie_word_embeddings)
    for name, tensor in model.state_dict().items():
        if skip_head and name == "lm_head.weight":
            continue
        if is_quantized(tensor):
            inner_names, attributes = tensor.__tensor_flatten__()
            for inner in inner_names:
                tensors[f"{name}#{inner}"] = getattr(tensor, inner).detach().contiguous().cpu()
            subclasses[name] = {
                "class": type(tensor).__name__, "inner": list(inner_names), "shape": list(tensor.shape),
                "attributes": {key: _encode(value) for key, value in attributes.items()},
            }  # fmt: skip
        else:
            tensors[name] = tensor.detach().contiguous().cpu()
    return tensors, subclasses


def _read_cache(path: Path, model: Any, device: torch.device) -> int | None:
    """Assign the cached weights to the meta-device ``model``; return the bytes before quantization.

    Returns ``None`` (after a warning) when the file is unreadable or does not match the model.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            meta = json.loads((handle.metadata() or {}).get(_META_KEY, "{}"))
            plain = {name: handle.get_tensor(name).to(device) for name in handle.keys()}  # noqa: SIM118
        if meta.get("format") != CACHE_FORMAT:
            raise CheckpointError(f"cache format {meta.get('format')!r}, expected {CACHE_FORMAT}")
        weights = _rebuild_state(plain, meta["subclasses"])
        assign_llama_weights(model, weights, path, device)
    except (
        OSError,
        SafetensorError,
        json.JSONDecodeError,
        KeyError,
        TypeError,
        ValueError,
        CheckpointError,
    ) as exc:
        _LOGGER.warning("ignoring the quantized LLM cache %s (%s); quantizing again", path, exc)
        return None
    return int(meta["bytes_before"])


def _rebuild_state(plain: dict[str, Any], subclasses: dict[str, Any]) -> dict[str, Any]:
    import torch

    classes = _allowed_classes()
    weights = {name: tensor for name, tensor in plain.items() if "#" not in name}
    for name, spec in subclasses.items():
        cls = classes.get(spec["class"])
        if cls is None:
            raise CheckpointError(f"{name}: tensor class {spec['class']!r} is not allowed")
        inner = {key: plain[f"{name}#{key}"] for key in spec["inner"]}
        attributes = {key: _decode(value) for key, value in spec["attributes"].items()}
        weights[name] = cls.__tensor_unflatten__(inner, attributes, torch.Size(spec["shape"]), None)
    return weights


def _allowed_classes() -> dict[str, Any]:
    from torchao.prototype.quantization.int4.int4_opaque_tensor import Int4OpaqueTensor
    from torchao.quantization.quantize_.workflows import Int4TilePackedTo4dTensor, Int8Tensor

    return {cls.__name__: cls for cls in (Int8Tensor, Int4OpaqueTensor, Int4TilePackedTo4dTensor)}


def _allowed_enums() -> dict[str, type[enum.Enum]]:
    from torchao.quantization.quant_primitives import MappingType

    return {"MappingType": MappingType}


class _Unstorable(Exception):
    """An attribute of a quantized tensor that the JSON metadata cannot hold."""


def _encode(value: Any) -> Any:
    import torch

    if value is None or (isinstance(value, (bool, int, float, str)) and not isinstance(value, enum.Enum)):
        return value
    if isinstance(value, torch.dtype):
        return {"dtype": str(value).removeprefix("torch.")}
    if isinstance(value, enum.Enum) and type(value).__name__ in _allowed_enums():
        return {"enum": type(value).__name__, "name": value.name}
    if isinstance(value, (list, tuple)):
        kind = "size" if isinstance(value, torch.Size) else type(value).__name__
        return {"seq": kind, "items": [_encode(item) for item in value]}
    raise _Unstorable(f"cannot store attribute {value!r} of type {type(value).__name__}")


def _decode(value: Any) -> Any:
    import torch

    if not isinstance(value, dict):
        return value
    if "dtype" in value:
        dtype = getattr(torch, str(value["dtype"]), None)
        if not isinstance(dtype, torch.dtype):
            raise CheckpointError(f"unknown dtype {value['dtype']!r} in the cache")
        return dtype
    if "enum" in value:
        return _allowed_enums()[value["enum"]][value["name"]]
    items = [_decode(item) for item in value["items"]]
    return {"list": items, "tuple": tuple(items), "size": torch.Size(items)}[value["seq"]]
