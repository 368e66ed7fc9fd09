"""Checks of a server's start: probe ordering, the start-up table, the first request against warm ones."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.harness import ServerProcess

#: Steps every eager ``glmtts serve`` start records, whatever the engine.
COMMON_STEPS = (
    "python start + CLI imports",
    "imports: settings + composition",
    "build services",
    "imports: web server + app",
    "app build",
    "voices read from disk",
    "engine load",
    "stored voices ready",
    "on-load hooks",
    "warm-up",
    "engine.warmup",
    "encoders",
    "http",
    "gc: collect + freeze",
)


def watch_start(server: ServerProcess, timeout_s: float) -> list[tuple[int | None, int | None]]:
    """Poll ``/health`` then ``/ready`` from process start until ready: (health, ready) status codes,
    None while nothing answers."""
    seen: list[tuple[int | None, int | None]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.process.poll() is None, server.log()
        codes: list[int | None] = []
        for path in ("/health", "/ready"):
            try:
                codes.append(server.client.get(path, timeout=5.0).status_code)
            except httpx.TransportError:
                codes.append(None)
        seen.append((codes[0], codes[1]))
        if codes[1] == 200:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"not ready after {timeout_s} s:\n{server.log()}")


def assert_probe_order(seen: list[tuple[int | None, int | None]]) -> None:
    """/health answers 200 while /ready is still 503; once /health answers it stays 200; ready comes last."""
    answered = [(health, ready) for health, ready in seen if health is not None]
    assert answered and all(health == 200 for health, _ in answered), seen
    assert any(ready == 503 for _, ready in answered), seen  # alive before ready
    assert answered[-1][1] == 200 and all(ready == 503 for _, ready in answered[:-1]), seen


def startup_steps(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``startup`` section's steps by name, checked for shape."""
    startup = status["startup"]
    steps = {step["name"]: step for step in startup["steps"]}
    for step in steps.values():
        assert step["seconds"] >= 0 and step["start_s"] >= 0 and step["thread"], step
    assert startup["marks"]["ready"] >= max(s["start_s"] + s["seconds"] for s in steps.values()) - 1e-3
    assert startup["marks"]["app started (/health answers)"] <= startup["marks"]["ready"]
    return steps


def assert_overlaps(first: dict[str, Any], second: dict[str, Any]) -> None:
    """The two steps ran at the same time (on different threads)."""
    assert first["thread"] != second["thread"], (first, second)
    assert first["start_s"] < second["start_s"] + second["seconds"], (first, second)
    assert second["start_s"] < first["start_s"] + first["seconds"], (first, second)


def first_over_warm(request: Callable[[], httpx.Response], n_warm: int = 3) -> float:
    """The first request's time over the median of the next ``n_warm`` (each must succeed)."""
    times = []
    for _ in range(1 + n_warm):
        started = time.perf_counter()
        response = request()
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return times[0] / statistics.median(times[1:])
