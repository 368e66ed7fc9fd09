"""Fixtures of the glm engine tests: reference paths, a tiny checkpoint and an engine built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.glm.reference import REF_DIR, REF_SPECIAL_IDS, ref_ckpt

REF_CKPT = ref_ckpt()
__all__ = ["REF_CKPT", "REF_DIR", "REF_SPECIAL_IDS", "load_glm_engine"]


@pytest.fixture(scope="session")
def ref_dir() -> Path:
    return REF_DIR


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete tiny checkpoint written by ``tests/support/glm/make_tiny.py`` (seed 1234)."""
    pytest.importorskip("torch")
    from tests.support.glm.make_tiny import make_tiny_checkpoint

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
