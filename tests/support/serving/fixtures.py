"""Fixtures for serving tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.harness import ServerProcess


@pytest.fixture()
def server_factory(tmp_path: Path) -> Iterator[Any]:
    servers: list[ServerProcess] = []

    def start(args: list[str], env: Mapping[str, str] | None = None, name: str = "srv") -> ServerProcess:
        server = ServerProcess(tmp_path / name, args, env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
