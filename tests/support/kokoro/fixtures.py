"""One loaded kokoro engine per test session, plus small audio measurements used by the tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from glmtts.engines.base import EngineConfig
from glmtts.engines.kokoro.engine import KokoroEngine


@pytest.fixture(scope="session")
def kokoro() -> Iterator[KokoroEngine]:
    """The real engine (model joined into the user cache on first use), loaded once."""
    engine = KokoroEngine(EngineConfig(n_threads=2))
    engine.load()
    yield engine
    engine.release()


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples.astype(np.float64))))) if samples.size else 0.0


def band_energy_fraction(samples: np.ndarray, sample_rate: int, low_hz: float, high_hz: float) -> float:
    """Share of the signal's energy between ``low_hz`` and ``high_hz``."""
    power = np.abs(np.fft.rfft(samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1.0 / sample_rate)
    band = (freqs >= low_hz) & (freqs <= high_hz)
    return float(power[band].sum() / max(power.sum(), 1e-20))


def median_f0_hz(samples: np.ndarray, sample_rate: int) -> float:
    """Median F0 of the voiced frames (WORLD dio + stonemask)."""
    import pyworld

    audio = samples.astype(np.float64)
    f0, times = pyworld.dio(audio, sample_rate, frame_period=5.0)
    f0 = pyworld.stonemask(audio, f0, times, sample_rate)
    voiced = f0[f0 > 0]
    return float(np.median(voiced)) if voiced.size else 0.0


def voiced_fraction(samples: np.ndarray, sample_rate: int) -> float:
    import pyworld

    f0, _ = pyworld.dio(samples.astype(np.float64), sample_rate, frame_period=5.0)
    return float(np.mean(f0 > 0))
