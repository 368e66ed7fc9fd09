"""Fixtures of the UI tests: one real server for the session, and the screenshot folder.

One server for the whole UI test session: starting one costs several seconds (importing Gradio), and the
tests leave it as they found it (jobs finish or are cancelled, added voices are deleted).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ui.ui_helpers import REPO_ROOT, UiServer


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    server = UiServer(tmp_path_factory.mktemp("ui-server"))
    try:
        server.wait_ready()
        yield server
    finally:
        assert server.close() == 0, server.log()
    # Gradio logs its own input validation failures with a traceback; our handlers never should.
    assert "glmtts/ui/" not in server.log(), server.log()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Screenshots land here (git-ignored) so a person can look at them."""
    path = REPO_ROOT / "tests" / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path
