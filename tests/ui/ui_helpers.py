"""Helpers of the UI tests: a real ``glmtts serve`` (uvicorn, WebUI mounted) in a subprocess, test clips."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

REPO_ROOT = Path(__file__).resolve().parents[2]
FAKE_ENGINE_DIR = REPO_ROOT / "tests" / "serving"
FAKE_ENGINE_CLASS = "serving_fake_engine:FakeEngine"
#: Seconds the fake engine spends per sentence: long enough for a batch job to be visibly running.
SEGMENT_DELAY_S = 0.1
SAMPLE_RATE = 24000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tone(
    duration_s: float, f0_hz: float = 180.0, sample_rate: int = SAMPLE_RATE, seed: int = 0
) -> np.ndarray:
    """A voiced-like clip (harmonics of ``f0_hz`` plus a little noise) that passes prompt validation."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    wave = sum(np.sin(2 * np.pi * k * f0_hz * t) / k for k in range(1, 6))
    return (0.2 * wave + 0.002 * rng.standard_normal(t.size)).astype(np.float32)


def write_tone(path: Path, duration_s: float = 4.0, f0_hz: float = 180.0) -> Path:
    sf.write(path, tone(duration_s, f0_hz), SAMPLE_RATE, subtype="PCM_16")
    return path


class UiServer:
    """``python -m glmtts serve`` with the fake engine and the WebUI; working directory = its workdir."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ui_url = f"{self.url}/ui/"
        self.log_path = workdir / "server.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(FAKE_ENGINE_DIR), str(REPO_ROOT / "src")]),
            "GLMTTS_ENGINE_OPTIONS": json.dumps({"segment_delay_s": SEGMENT_DELAY_S}),
            "GRADIO_ANALYTICS_ENABLED": "False",
        }
        command = [
            sys.executable, "-m", "glmtts", "serve", "--port", str(self.port), "--workdir", str(workdir),
            "--engine", "fake", "--engine-class", FAKE_ENGINE_CLASS, "--warmup-rounds", "0",
        ]  # fmt: skip
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            command, cwd=workdir, stdout=self._log, stderr=subprocess.STDOUT, env=env
        )

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        """Wait for ``/ready`` and for the UI page to answer."""
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log()}")
                try:
                    if (
                        client.get(f"{self.url}/ready").status_code == 200
                        and client.get(self.ui_url).is_success
                    ):
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise AssertionError(f"server not ready after {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def close(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return int(self.process.returncode)
