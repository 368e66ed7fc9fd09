"""Fixtures for text-frontend tests: one loaded frontend per session, caches in a temporary directory.

Reference cases (outputs of the official GLM-TTS frontend) are read from the directory in the environment
variable ``GLMTTS_REF_CASES`` when it is set, else from ``tests/data/glmtts-ref/cases``; the parity tests use
its ``text_frontend/dev.jsonl`` and ``text_frontend/dev2.jsonl``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from glmtts.text import FrontendConfig, TextFrontend

DATA = Path(__file__).resolve().parents[2] / "data"
DEFAULT_REF_CASES = DATA / "glmtts-ref" / "cases"
HARNESS_CASES = DATA / "text_frontend" / "harness_official.jsonl"


def ref_cases_dir() -> Path:
    """The reference case directory: ``$GLMTTS_REF_CASES`` or the copy in ``tests/data``."""
    return Path(os.environ.get("GLMTTS_REF_CASES") or DEFAULT_REF_CASES)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="session")
def xdg_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private ``XDG_CACHE_HOME``: the default cache directory of a frontend built by the CLI lies in it."""
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(scope="session")
def text_cache_dir(xdg_cache_home: Path) -> Path:
    """The frontend's default cache directory under ``xdg_cache_home`` (shared by fixtures and CLI runs)."""
    return xdg_cache_home / "glmtts" / "text"


@pytest.fixture(scope="session")
def frontend(text_cache_dir: Path) -> TextFrontend:
    """A loaded frontend with the packaged official dictionaries (independent of the working directory)."""
    data = Path(__file__).resolve().parents[3] / "src" / "glmtts" / "data"
    front = TextFrontend(
        FrontendConfig(
            dictionary_path=data / "G2P_replace_dict.jsonl",
            custom_replace_path=data / "custom_replace.jsonl",
            cache_dir=text_cache_dir,
        )
    )
    front.load()
    return front


@pytest.fixture(scope="session")
def official_frontend(text_cache_dir: Path) -> TextFrontend:
    """The same frontend with the override table off: it must read exactly like upstream."""
    front = TextFrontend(FrontendConfig(cache_dir=text_cache_dir, apply_overrides=False))
    front.load()
    return front


@pytest.fixture(scope="session")
def reference_cases() -> list[dict[str, Any]]:
    """``dev.jsonl`` + ``dev2.jsonl`` of the reference case directory."""
    folder = ref_cases_dir() / "text_frontend"
    return [*read_jsonl(folder / "dev.jsonl"), *read_jsonl(folder / "dev2.jsonl")]


@pytest.fixture(scope="session")
def harness_cases() -> list[dict[str, Any]]:
    """209 more sentences through the official frontend (``tests/data/text_frontend``)."""
    return read_jsonl(HARNESS_CASES)
