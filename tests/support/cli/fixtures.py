"""CLI tests: one loaded kokoro engine to compare ``glmtts synth`` output with (the CLI loads its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from glmtts.engines.base import EngineConfig
from glmtts.engines.kokoro.engine import KokoroEngine


@pytest.fixture(scope="session")
def shared_engine() -> Iterator[KokoroEngine]:
    engine = KokoroEngine(EngineConfig(n_threads=2))
    engine.load()
    yield engine
    engine.release()


@pytest.fixture
def loaded_engine(shared_engine: KokoroEngine) -> KokoroEngine:
    """The shared engine, for comparing ``glmtts synth`` (which loads its own) with direct synthesis."""
    return shared_engine
