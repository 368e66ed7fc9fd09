"""Shared test helpers: paths to reference data and small signal generators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA_DIR


def harmonic_tone(duration_s: float, sample_rate: int, f0_hz: float = 150.0, seed: int = 0) -> np.ndarray:
    """A voiced-like test signal: harmonics of ``f0_hz`` with slow vibrato and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    f0 = f0_hz * (1.0 + 0.03 * np.sin(2 * np.pi * 3.0 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    wave = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 2.0 * t))
    out = 0.2 * envelope * wave + 0.003 * rng.standard_normal(t.size)
    return out.astype(np.float32)


KINDS = ("unit", "integration", "process", "real_weights")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the kind of its folder, ``tests/<kind>/<component>/`` (``pytest -m unit``)."""
    tests_dir = REPO_ROOT / "tests"
    for item in items:
        try:
            kind = item.path.relative_to(tests_dir).parts[0]
        except ValueError:
            continue  # a test outside tests/ (run by path)
        if kind not in KINDS:
            raise pytest.UsageError(
                f"{item.path}: tests live in tests/<kind>/<component>/, kind one of {KINDS}"
            )
        item.add_marker(kind)
