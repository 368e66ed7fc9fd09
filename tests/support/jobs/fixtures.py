"""Fixtures for the job tests: a fast fake engine, prompt clips and JSONL writers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from glmtts.engines.base import EngineConfig
from glmtts.engines.registry import create_engine, register_engine
from glmtts.synthesis import Runtime, RuntimeConfig, build_runtime
from tests.support.fake_engine import ENGINE_CLASS, FakeEngine

FAKE_ENGINE_PATH = ENGINE_CLASS


def write_prompt(path: Path, seconds: float = 1.5, sample_rate: int = 24_000, freq: float = 180.0) -> Path:
    """A voiced-sounding tone clip long enough to pass prompt validation."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    samples = 0.3 * np.sin(2 * np.pi * freq * t) * (1.0 + 0.3 * np.sin(2 * np.pi * 3 * t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples.astype(np.float32), sample_rate)
    return path


def jsonl_bytes(records: Iterable[dict[str, Any] | str]) -> bytes:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    return ("\n".join(lines) + "\n").encode("utf-8")


def item(uttid: str, text: str, prompt: str = "prompts/a.wav") -> dict[str, Any]:
    return {"uttid": uttid, "prompt_text": "a prompt.", "prompt_speech": prompt, "syn_text": text}


@pytest.fixture
def fake_engine_name() -> str:
    register_engine("fake", FAKE_ENGINE_PATH)
    return "fake"


@pytest.fixture
def fake_engine(fake_engine_name: str) -> FakeEngine:
    engine = create_engine(EngineConfig(name=fake_engine_name))
    assert isinstance(engine, FakeEngine)
    return engine


def loaded_runtime(engine: FakeEngine, tmp_path: Path | None = None) -> Runtime:
    """A loaded in-process runtime around ``engine`` (prompt features persisted under ``tmp_path``)."""
    config = RuntimeConfig(voice_features_dir=tmp_path / "features" if tmp_path else None, log_requests=False)
    runtime = build_runtime(engine, config)
    runtime.load()
    return runtime


@pytest.fixture
def runtime(fake_engine: FakeEngine, tmp_path: Path) -> Iterator[Runtime]:
    with loaded_runtime(fake_engine, tmp_path) as loaded:
        yield loaded


@pytest.fixture
def job_root(tmp_path: Path) -> Path:
    """A job root with two prompt clips and one file that is not audio."""
    root = tmp_path / "root"
    write_prompt(root / "prompts" / "a.wav")
    write_prompt(root / "prompts" / "b.wav", freq=260.0)
    (root / "prompts" / "not_audio.wav").write_bytes(b"this is not a wav file at all" * 10)
    return root
