"""Fixtures for text-frontend tests: one loaded frontend per session, caches in a temporary directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from glmtts.text import FrontendConfig, TextFrontend

REFERENCE_CASES = (
    Path(__file__).resolve().parents[1] / "data" / "glmtts-ref" / "cases" / "text_frontend" / "dev.jsonl"
)


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
    """A loaded frontend with the packaged dictionary (independent of the working directory)."""
    packaged = Path(__file__).resolve().parents[2] / "src" / "glmtts" / "data" / "G2P_replace_dict.jsonl"
    front = TextFrontend(FrontendConfig(dictionary_path=packaged, cache_dir=text_cache_dir))
    front.load()
    return front


@pytest.fixture(scope="session")
def reference_cases() -> list[dict[str, Any]]:
    with REFERENCE_CASES.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
