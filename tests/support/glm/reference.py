"""The official reference recordings the parity tests read: ``$GLMTTS_REF_CASES`` or the copy in tests/data.

``GLMTTS_REF_CASES`` names a case directory laid out like ``tests/data/glmtts-ref/cases``: recordings of
one kind are ``<variant>/<case>.npz`` + ``.json`` (``dev/flow.npz``, ``holdout/e2e.npz`` …), or the case
files lie in the directory itself. Every variant found is tested. The tiny checkpoint the recordings were
made with is ``<cases>/../tiny/ckpt`` when it exists there, else the copy in tests/data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

CASES_ENV = "GLMTTS_REF_CASES"
REF_DIR = Path(__file__).resolve().parents[2] / "data" / "glmtts-ref"
#: Special ids of the reference tiny checkpoint (tiny/TINY_HPARAMS.json).
REF_SPECIAL_IDS = {"pad": 1000, "eoa": 1003, "boa": 1004, "ats": 1024, "ate": 2047}


def cases_root() -> Path:
    """The case directory: ``$GLMTTS_REF_CASES`` when set, else tests/data/glmtts-ref/cases."""
    configured = os.environ.get(CASES_ENV)
    return Path(configured).expanduser() if configured else REF_DIR / "cases"


def ref_ckpt() -> Path:
    """The tiny checkpoint of the recordings (next to the case directory, else the repository copy)."""
    beside = cases_root().parent / "tiny" / "ckpt"
    return beside if beside.is_dir() else REF_DIR / "tiny" / "ckpt"


def case_paths(name: str) -> list[Path]:
    """Every recording ``<name>.npz`` in the case directory (itself or its variant subdirectories)."""
    root = cases_root()
    direct = root / f"{name}.npz"
    found = [direct] if direct.is_file() else sorted(root.glob(f"*/{name}.npz"))
    if not found:
        raise FileNotFoundError(f"no {name}.npz recording under {root} (set {CASES_ENV} to a case directory)")
    return found


def case_id(path: Path) -> str:
    return path.parent.name


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def load_meta(path: Path) -> dict[str, Any]:
    """The JSON sidecar of a recording (``call``, runs, random draws …)."""
    meta: dict[str, Any] = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return meta


def recorded_case(name: str) -> Any:
    """A module fixture parametrized over every recording of ``name``; its value is the dict of arrays."""

    @pytest.fixture(scope="module", params=case_paths(name), ids=case_id)
    def case(request: pytest.FixtureRequest) -> dict[str, np.ndarray]:
        return load_arrays(request.param)

    return case
