"""Weight-only quantization of the speech-token LLM with torchao: modes, the plan per mode, memory accounting.

``EngineConfig.extra["llm_quant"]`` (``--llm-quant``) is one of :data:`QUANT_MODES`:

* ``none``: the LLM stays in ``EngineConfig.dtype``;
* ``int8``: torchao ``Int8WeightOnlyConfig`` (per-row int8 weights) on the decoder's linear layers and the LM
  head; the quantized linears run under ``torch.compile``, which fuses the int8 dequantization into the
  matmul (on CPU, inductor lowers it to ATen's int8 weight-pack kernel; eager torchao dequantizes the whole
  weight every call and is slower than float32);
* ``int4``: int4 weights, groupwise (128, or the largest of 64/32 dividing every input width) on the
  decoder's linear layers: torchao's CPU int4 tensor (``PrototypeInt4WeightOnlyConfig``, ATen's int4 CPU
  kernel) on CPU, the tinygemm layout (``Int4WeightOnlyConfig``) on CUDA. The LM head stays in the LLM dtype.

The token embedding, the norms and (int4) the LM head keep the LLM dtype. Both modes compute in half
precision: a float32 LLM dtype becomes bfloat16 (torchao's CPU kernels take bfloat16 activations; the
float32 activation paths dequantize and are several times slower). :func:`llm_compute_dtype` says which.
The speech tokenizer, flow and vocoder are not touched.

:func:`module_bytes` counts resident bytes honestly: a quantized weight is the sum of its inner tensors
(int data, scales, zero points), and tensors shared by two names are counted once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glmtts.errors import InvalidOptionError

if TYPE_CHECKING:
    import torch

_LOGGER = logging.getLogger(__name__)

QUANT_MODES = ("none", "int8", "int4")
#: Group sizes the int4 kernels take, preferred first.
INT4_GROUP_SIZES = (128, 64, 32)
#: Name prefix of the decoder's linear layers in ``LlamaForCausalLM``.
DECODER_PREFIX = "model.layers."
HEAD_NAME = "lm_head"


def parse_quant_mode(value: object) -> str:
    """``value`` as a quantization mode (``None`` means ``none``).

    Raises:
        InvalidOptionError: for anything but ``none``, ``int8`` or ``int4``.
    """
    mode = "none" if value is None else str(value).strip().lower()
    if mode not in QUANT_MODES:
        raise InvalidOptionError(
            f"unsupported llm quantization {value!r}; choose one of {', '.join(QUANT_MODES)}"
        )
    return mode


def llm_compute_dtype(mode: str, dtype: str) -> str:
    """The dtype the LLM runs in: ``dtype``, except float32 becomes bfloat16 when the weights are quantized."""
    return "bfloat16" if parse_quant_mode(mode) != "none" and dtype == "float32" else dtype


@dataclass(frozen=True)
class QuantPlan:
    """What to quantize and how.

    ``dynamic_activations`` (int8 only) quantizes the activations too (torchao
    ``Int8DynamicActivationInt8WeightConfig``, int8 x int8 matmuls): a measured alternative, not a mode.
    """

    mode: str
    quantize_head: bool
    compile_linears: bool
    group_size: int = 128
    dynamic_activations: bool = False

    @property
    def tag(self) -> str:
        """A short stable description (part of the quantized cache key)."""
        parts = [self.mode, f"g{self.group_size}" if self.mode == "int4" else "row"]
        parts += ["head" if self.quantize_head else "nohead", "dyn" if self.dynamic_activations else "wo"]
        return "-".join(parts)

    def torchao_config(self, device: torch.device) -> Any:
        """The torchao config of this plan on ``device``."""
        from torchao.quantization import (
            Int4WeightOnlyConfig,
            Int8DynamicActivationInt8WeightConfig,
            Int8WeightOnlyConfig,
        )

        if self.mode == "int8":
            return (
                Int8DynamicActivationInt8WeightConfig()
                if self.dynamic_activations
                else Int8WeightOnlyConfig()
            )
        if device.type == "cpu":
            from torchao.prototype.quantization.int4.inference_workflow import PrototypeInt4WeightOnlyConfig

            return PrototypeInt4WeightOnlyConfig(group_size=self.group_size)
        from torchao.quantization.quantize_.workflows import Int4PackingFormat

        return Int4WeightOnlyConfig(
            group_size=self.group_size, int4_packing_format=Int4PackingFormat.TILE_PACKED_TO_4D
        )


def plan_for(mode: str, model: Any, device: torch.device) -> QuantPlan | None:
    """The default plan of ``mode`` for ``model`` on ``device`` (``None`` for ``none``).

    Raises:
        InvalidOptionError: unknown mode, an unsupported device, or int4 with input widths no group size divides.
    """
    mode = parse_quant_mode(mode)
    if mode == "none":
        return None
    if device.type not in ("cpu", "cuda"):
        raise InvalidOptionError(f"llm quantization {mode} runs on cpu or cuda, not {device.type}")
    if mode == "int8":
        return QuantPlan("int8", quantize_head=True, compile_linears=True)
    widths = {int(module.in_features) for _, module in quantizable_linears(model, include_head=False)}
    for group_size in INT4_GROUP_SIZES:
        if all(width % group_size == 0 for width in widths):
            return QuantPlan("int4", quantize_head=False, compile_linears=False, group_size=group_size)
    raise InvalidOptionError(
        f"int4 needs linear input widths divisible by one of {INT4_GROUP_SIZES}; this LLM has {sorted(widths)}"
    )


def quantizable_linears(model: Any, include_head: bool) -> Iterator[tuple[str, Any]]:
    """``(name, nn.Linear)`` of the decoder layers (and the LM head when ``include_head``)."""
    import torch

    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and _selected(name, include_head):
            yield name, module


def _selected(name: str, include_head: bool) -> bool:
    return name.startswith(DECODER_PREFIX) or (include_head and name == HEAD_NAME)


def linear_filter(plan: QuantPlan) -> Callable[[Any, str], bool]:
    """The ``filter_fn`` of ``torchao.quantize_``: decoder linears, plus the head when the plan says so."""
    import torch

    def keep(module: Any, name: str) -> bool:
        return isinstance(module, torch.nn.Linear) and _selected(name, plan.quantize_head)

    return keep


def quantize_llm(model: Any, plan: QuantPlan, device: torch.device) -> int:
    """Quantize ``model``'s selected linear layers in place with torchao; return how many were quantized."""
    from torchao.quantization import quantize_

    names = [name for name, _ in quantizable_linears(model, plan.quantize_head)]
    quantize_(model, plan.torchao_config(device), filter_fn=linear_filter(plan), device=device)
    n_quantized = sum(1 for name in names if is_quantized(model.get_submodule(name).weight))
    if n_quantized != len(names):
        _LOGGER.warning("torchao quantized %d of %d selected LLM linears", n_quantized, len(names))
    return n_quantized


def is_quantized(tensor: Any) -> bool:
    """Whether ``tensor`` is a torchao quantized tensor subclass (anything that flattens into inner tensors)."""
    import torch

    return type(tensor) not in (torch.Tensor, torch.nn.Parameter) and hasattr(tensor, "__tensor_flatten__")


def prepare_for_inference(model: Any, plan: QuantPlan) -> None:
    """Route the quantized linears through one shared ``torch.compile``d linear when the plan compiles.

    The compiled function is shape-generic (``dynamic=True``) and takes the weight as an input, so the
    ~200 layers share a handful of graphs instead of compiling one each.
    """
    if not plan.compile_linears:
        return
    compiled = _compiled_linear()
    for _, module in quantizable_linears(model, plan.quantize_head):
        if is_quantized(module.weight):
            module.forward = functools.partial(_linear_forward, module, compiled)


def _linear_forward(module: Any, compiled: Callable[..., Any], hidden: torch.Tensor) -> torch.Tensor:
    return compiled(hidden, module.weight, module.bias)


@functools.cache
def _compiled_linear() -> Callable[..., Any]:
    import torch
    import torch.nn.functional as F

    def linear(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        return F.linear(hidden, weight, bias)

    # fx_graph_cache off: inductor cannot pickle the cache key of torchao tensors and warns on every graph.
    return torch.compile(linear, dynamic=True, options={"fx_graph_cache": False})


def tensor_bytes(tensor: Any) -> int:
    """Resident bytes of ``tensor``: a quantized tensor counts its inner tensors, a plain one its storage view."""
    if is_quantized(tensor):
        names, _ = tensor.__tensor_flatten__()
        return sum(tensor_bytes(getattr(tensor, name)) for name in names)
    return int(tensor.numel() * tensor.element_size())


def module_bytes(module: Any) -> int:
    """Resident bytes of ``module``'s parameters and buffers, each tensor counted once."""
    seen: set[int] = set()
    total = 0
    for tensor in (*module.parameters(), *module.buffers()):
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        total += tensor_bytes(tensor)
    return total


@dataclass(frozen=True)
class QuantReport:
    """How the LLM was quantized and loaded: ``source`` is ``"cache"`` or ``"checkpoint"``."""

    mode: str
    plan: str
    source: str
    cache_path: Path | None
    bytes_before: int
    bytes_after: int
    load_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode, "plan": self.plan, "source": self.source,
            "cache_path": str(self.cache_path) if self.cache_path else None,
            "bytes_before": self.bytes_before, "bytes_after": self.bytes_after, "load_s": round(self.load_s, 3),
        }  # fmt: skip
