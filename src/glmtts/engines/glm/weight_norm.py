"""Weight-normalised convolutions as stored in checkpoints, folded to plain weights at load time.

Upstream trains HiFT with weight norm and never removes it, so ``hift.pt`` stores each such weight as a
magnitude ``g`` and a direction ``v``: ``*.parametrizations.weight.original0`` / ``original1`` with
current torch, ``*.weight_g`` / ``*.weight_v`` with the legacy API. Here the modules are plain convs
marked as weight-normalised; :func:`checkpoint_shapes` lists the keys a checkpoint must hold and
:func:`fold_weight_norm` turns ``(g, v)`` into the plain weight with the same kernel torch uses
(``torch._weight_norm``), so outputs are bit-identical to the parametrized module.
"""

from __future__ import annotations

import torch
from torch import nn

_G_SUFFIX = "parametrizations.weight.original0"
_V_SUFFIX = "parametrizations.weight.original1"


class WNConv1d(nn.Conv1d):
    """A ``Conv1d`` whose checkpoint stores its weight in weight-norm form (``dim=0``)."""


class WNConvTranspose1d(nn.ConvTranspose1d):
    """A ``ConvTranspose1d`` whose checkpoint stores its weight in weight-norm form (``dim=0``)."""


def _weight_normed_names(model: nn.Module) -> set[str]:
    return {
        name for name, module in model.named_modules() if isinstance(module, WNConv1d | WNConvTranspose1d)
    }


def checkpoint_shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    """Key → shape a checkpoint of ``model`` holds (weight-norm parts spelled ``parametrizations``)."""
    normed = _weight_normed_names(model)
    shapes: dict[str, tuple[int, ...]] = {}
    for key, value in model.state_dict().items():
        prefix, _, leaf = key.rpartition(".")
        if leaf == "weight" and prefix in normed:
            shape = tuple(value.shape)
            shapes[f"{prefix}.{_G_SUFFIX}"] = (shape[0],) + (1,) * (len(shape) - 1)
            shapes[f"{prefix}.{_V_SUFFIX}"] = shape
        else:
            shapes[key] = tuple(value.shape)
    return shapes


def to_parametrization_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename legacy ``*.weight_g`` / ``*.weight_v`` keys to the ``parametrizations`` spelling."""
    renamed = {}
    for key, value in state.items():
        if key.endswith(".weight_g"):
            key = key[: -len("weight_g")] + _G_SUFFIX
        elif key.endswith(".weight_v"):
            key = key[: -len("weight_v")] + _V_SUFFIX
        renamed[key] = value
    return renamed


def fold_weight_norm(model: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Return ``state`` with each ``(g, v)`` pair of ``model``'s weight-normed convs replaced by ``weight``."""
    folded = dict(state)
    for prefix in _weight_normed_names(model):
        magnitude = folded.pop(f"{prefix}.{_G_SUFFIX}")
        direction = folded.pop(f"{prefix}.{_V_SUFFIX}")
        folded[f"{prefix}.weight"] = torch._weight_norm(direction, magnitude, 0)
    return folded
