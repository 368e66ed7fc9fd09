"""CLI tests share one loaded kokoro engine: ``glmtts.cli.synth._load_engine`` is pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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
def loaded_engine(shared_engine: KokoroEngine, monkeypatch: pytest.MonkeyPatch) -> KokoroEngine:
    """Make ``glmtts synth`` reuse the shared engine instead of loading a new one per call."""
    from glmtts.cli import synth

    def load(args: Any) -> KokoroEngine:
        assert args.engine == "kokoro"
        return shared_engine

    monkeypatch.setattr(synth, "_load_engine", load)
    return shared_engine
