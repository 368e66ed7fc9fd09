"""Helpers of the UI tests: a real ``glmtts serve`` (the one harness, WebUI mounted), test clips."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import soundfile as sf

from tests.support.harness import FAKE_ENGINE_CLASS, REPO_ROOT, ServerProcess, tone

__all__ = ["REPO_ROOT", "SAMPLE_RATE", "UiServer", "write_tone"]

#: Seconds the fake engine spends per sentence: long enough for a batch job to be visibly running.
SEGMENT_DELAY_S = 0.1
SAMPLE_RATE = 24000


def write_tone(path: Path, duration_s: float = 4.0, f0_hz: float = 180.0) -> Path:
    sf.write(path, tone(duration_s, f0_hz=f0_hz), SAMPLE_RATE, subtype="PCM_16")
    return path


class UiServer(ServerProcess):
    """The server with the fake engine (reading text through the real frontend) and the WebUI."""

    def __init__(self, workdir: Path) -> None:
        env = {
            "GLMTTS_ENGINE_OPTIONS": json.dumps({"segment_delay_s": SEGMENT_DELAY_S, "text_frontend": True}),
            "GRADIO_ANALYTICS_ENABLED": "False",
        }
        args = ["--engine", "fake", "--engine-class", FAKE_ENGINE_CLASS, "--warmup-rounds", "0"]
        super().__init__(workdir, args, env, cwd=workdir)
        self.ui_url = f"{self.url}/ui/"

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        """Wait for ``/ready`` and for the UI page to answer."""
        super().wait_ready(timeout_s)
        deadline = time.monotonic() + timeout_s
        while not httpx.get(self.ui_url, timeout=5.0).is_success:
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.2)
