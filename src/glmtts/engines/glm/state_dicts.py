"""Reading ``.pt`` state dicts without executing code, and checking them against a module.

Shared by the flow and HiFT loaders. Every failure is a :class:`CheckpointError` that names the file and
the offending keys, so a user knows what to re-download.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from glmtts.errors import CheckpointError

if TYPE_CHECKING:
    import torch

_LOGGER = logging.getLogger(__name__)

#: At most this many keys are listed per category in an error message.
_MAX_KEYS_SHOWN = 8


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Load a state dict saved with ``torch.save`` (plain, or nested under ``"model"``) on the CPU.

    Uses ``torch.load(weights_only=True)``: no pickled code runs.

    Raises:
        CheckpointError: the file is missing, unreadable or holds no tensor mapping.
    """
    import torch

    if not path.is_file():
        raise CheckpointError(f"missing checkpoint file {path}")
    try:
        payload = _load_weights_only(path)
    except Exception as exc:  # torch raises many types for corrupt or non-weights pickles
        raise CheckpointError(f"cannot read {path} as a weights-only torch file: {exc}") from exc
    if isinstance(payload, Mapping) and "model" in payload and isinstance(payload["model"], Mapping):
        payload = payload["model"]
    if not isinstance(payload, Mapping) or not all(isinstance(v, torch.Tensor) for v in payload.values()):
        raise CheckpointError(f"{path} does not hold a state dict (a mapping of names to tensors)")
    _LOGGER.debug("read %d tensors from %s", len(payload), path)
    return {str(key): value for key, value in payload.items()}


def _load_weights_only(path: Path) -> object:
    """``torch.load(weights_only=True)``, memory-mapped when the file is in the zip format.

    Memory mapping lets the weights be paged in on first use instead of copied up front.
    """
    import zipfile

    import torch

    if zipfile.is_zipfile(path):
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    return torch.load(path, map_location="cpu", weights_only=True)


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:_MAX_KEYS_SHOWN])
    return shown + (f" (+{len(keys) - _MAX_KEYS_SHOWN} more)" if len(keys) > _MAX_KEYS_SHOWN else "")


def check_state_dict(
    expected: Mapping[str, tuple[int, ...]], found: Mapping[str, torch.Tensor], source: Path
) -> None:
    """Raise :class:`CheckpointError` unless ``found`` has exactly the keys and shapes of ``expected``."""
    missing = [key for key in expected if key not in found]
    unexpected = [key for key in found if key not in expected]
    wrong = [
        f"{key} {tuple(found[key].shape)} != {tuple(shape)}"
        for key, shape in expected.items()
        if key in found and tuple(found[key].shape) != tuple(shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {_listed(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_listed(unexpected)}")
    if wrong:
        problems.append(f"wrong shapes: {_listed(wrong)}")
    if problems:
        raise CheckpointError(f"{source} does not match the model: " + "; ".join(problems))


def expected_shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """Key → shape of ``module.state_dict()`` (works on the meta device)."""
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


def require_tensor(state: Mapping[str, torch.Tensor], key: str, source: Path, n_dims: int) -> torch.Tensor:
    """Return ``state[key]`` if present with ``n_dims`` dimensions, else raise :class:`CheckpointError`."""
    if key not in state:
        raise CheckpointError(f"{source} is missing key {key}")
    tensor = state[key]
    if tensor.dim() != n_dims:
        raise CheckpointError(
            f"{source}: {key} has shape {tuple(tensor.shape)}, expected {n_dims} dimensions"
        )
    return tensor
