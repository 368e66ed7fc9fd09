"""Fixtures of the glm engine tests: reference data paths and a tiny checkpoint built once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REF_DIR = Path(__file__).resolve().parents[1] / "data" / "glmtts-ref"
REF_CKPT = REF_DIR / "tiny" / "ckpt"
#: Special ids of the reference tiny checkpoint (tiny/TINY_HPARAMS.json).
REF_SPECIAL_IDS = {"pad": 1000, "eoa": 1003, "boa": 1004, "ats": 1024, "ate": 2047}


@pytest.fixture(scope="session")
def ref_dir() -> Path:
    return REF_DIR


@pytest.fixture(scope="session")
def ref_case():
    """Loader of a reference case: ``ref_case("llm")`` -> dict of arrays from cases/dev/llm.npz."""

    def load(name: str) -> dict[str, np.ndarray]:
        with np.load(REF_DIR / "cases" / "dev" / f"{name}.npz") as data:
            return {key: data[key] for key in data.files}

    return load


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete tiny checkpoint written by ``tests/glm/make_tiny.py`` (seed 1234)."""
    pytest.importorskip("torch")
    from .make_tiny import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("glm_tiny") / "ckpt")


def load_glm_engine(ckpt: Path, **changes):
    """A loaded glm engine on ``ckpt``; the random tiny LM rarely stops early, so utterances are capped."""
    from glmtts.engines.base import EngineConfig
    from glmtts.engines.registry import create_engine

    extra = {"max_token_ratio": 4.0, **changes.pop("extra", {})}
    engine = create_engine(EngineConfig(name="glm", ckpt_dir=ckpt, n_threads=1, extra=extra, **changes))
    engine.load()
    return engine


@pytest.fixture(scope="session")
def glm_engine(tiny_ckpt: Path):
    """One float32 engine on the tiny checkpoint for the whole session (tests restore what they patch)."""
    return load_glm_engine(tiny_ckpt)


@pytest.fixture(scope="module", autouse=True)
def _single_torch_thread():
    """One intra-op thread: tiny models gain nothing from more, and spinning threads stall a busy machine."""
    torch = pytest.importorskip("torch")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
