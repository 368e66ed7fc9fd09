"""The one server harness of the suite: fake-engine settings, test clips and real ``glmtts serve`` processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
FAKE_ENGINE_CLASS = "tests.support.fake_engine:FakeEngine"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tone(duration_s: float, sample_rate: int = 24000, f0_hz: float = 150.0, seed: int = 0) -> np.ndarray:
    """A voiced-like clip that passes prompt validation."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    wave = sum(np.sin(2 * np.pi * k * f0_hz * t) / k for k in range(1, 6))
    return (0.2 * wave + 0.002 * rng.standard_normal(t.size)).astype(np.float32)


def fake_settings(workdir: Path, **overrides: Any) -> Any:
    from glmtts.serving.settings import ServeSettings

    base: dict[str, Any] = {
        "engine": "fake",
        "engine_class": FAKE_ENGINE_CLASS,
        "workdir": workdir,
        "ui": False,
        "warmup_rounds": 1,
        "log_requests": False,
    }
    base.update(overrides)
    return ServeSettings(**base)


class ServerProcess:
    """``glmtts serve`` in a subprocess on a free port; stops it (SIGTERM) on close."""

    def __init__(
        self,
        workdir: Path,
        args: list[str],
        env: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
        cwd: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        workdir.mkdir(parents=True, exist_ok=True)
        full_env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "src")]),
            **(env or {}),
        }
        command = [
            sys.executable,
            "-m",
            "glmtts",
            "serve",
            "--port",
            str(self.port),
            "--workdir",
            str(workdir),
            *args,
        ]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            command, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, env=full_env
        )
        self.client = httpx.Client(base_url=self.url, timeout=timeout_s)

    def wait_listening(self, timeout_s: float = 60.0) -> None:
        self._wait(lambda r: True, timeout_s)

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        self._wait(lambda r: r.status_code == 200, timeout_s)

    def _wait(self, accept: Any, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if accept(self.client.get("/ready", timeout=2.0)):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server not ready after {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.client.close()
        self._log.close()
        return int(self.process.returncode)
