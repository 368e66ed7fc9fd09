"""End to end: ``glmtts infer`` on the shipped English example with the real embedded engine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from glmtts.cli.main import main

REPO_ROOT = Path(__file__).resolve().parents[3]

pytest.importorskip("glmtts.engines.kokoro.engine")


@pytest.mark.slow
def test_infer_example_en_with_kokoro(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    examples = tmp_path / "examples"
    shutil.copytree(REPO_ROOT / "examples" / "prompt", examples / "prompt")
    first_line = (REPO_ROOT / "examples" / "example_en.jsonl").read_text("utf-8").splitlines()[0]
    (examples / "example_en.jsonl").write_text(first_line + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    assert main(["infer", "--data", "example_en", "--engine", "kokoro", "--no-progress"]) == 0

    out_dir = tmp_path / "outputs" / "pretrain_test" / "example_en"
    uttid = json.loads(first_line)["uttid"]
    samples, sample_rate = sf.read(out_dir / f"{uttid}.wav", dtype="float32")
    assert sample_rate == 24000
    duration_s = len(samples) / sample_rate
    assert 1.5 < duration_s < 10.0  # "Hello! This is a short test of the batch inference command."
    assert 20 * np.log10(np.sqrt(np.mean(samples**2)) + 1e-12) > -40.0
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1.0 / sample_rate)
    speech_band = spectrum[(freqs > 80) & (freqs < 4000)].sum()
    assert speech_band / spectrum.sum() > 0.6
    compare = [json.loads(line) for line in (out_dir / "text_compare.jsonl").read_text("utf-8").splitlines()]
    assert compare[0]["uttid"] == uttid and compare[0]["syn_text_tn"]
