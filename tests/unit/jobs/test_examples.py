"""The shipped examples: valid upstream JSONL, prompt clips that pass prompt checks, small, licensed."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmtts.audio import read_audio, validate_prompt
from glmtts.jobs.input import PromptResolver, parse_batch_input

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = REPO_ROOT / "examples"


@pytest.mark.parametrize("name", ["example_zh", "example_en"])
def test_example_files_are_valid_and_their_prompts_usable(name: str):
    batch = parse_batch_input((EXAMPLES / f"{name}.jsonl").read_bytes(), PromptResolver([REPO_ROOT]))
    assert batch.rejected == () and batch.n_valid >= 3
    for item in batch.items:
        assert item.prompt_text and item.prompt_path
        samples, sample_rate = read_audio(item.prompt_path)
        validate_prompt(samples, sample_rate)
        assert 2.0 < len(samples) / sample_rate < 10.0


def test_examples_are_small_and_licensed():
    total = sum(p.stat().st_size for p in EXAMPLES.rglob("*") if p.is_file())
    assert total < 300 * 1024
    assert "CC0" in (EXAMPLES / "README.md").read_text("utf-8")
