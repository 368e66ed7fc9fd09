"""Helpers for deploy tests: free ports, waiting for URLs, the fake engine on the server's path."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY_DIR = REPO_ROOT / "deploy"
FAKE_ENGINE_CLASS = "tests.support.fake_engine:FakeEngine"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, status: int = 200, timeout_s: float = 60.0, verify: bool = True) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0, verify=verify).status_code == status:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {status} within {timeout_s} s")
