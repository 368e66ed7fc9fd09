"""A real ``glmtts serve`` start on the fake engine: probe order, the start-up table, a warm first request."""

from __future__ import annotations

from typing import Any

from tests.support.harness import FAKE_ENGINE_CLASS
from tests.support.serving.startup_checks import (
    COMMON_STEPS,
    assert_overlaps,
    assert_probe_order,
    first_over_warm,
    startup_steps,
    watch_start,
)

#: The engine load takes long enough to see /ready 503 and the overlap with the app build.
OPTIONS = '{"load_delay_s": 1.5, "segment_delay_s": 0.25}'


def test_start_order_table_and_first_request(server_factory: Any) -> None:
    server = server_factory(
        ["--engine", "fake", "--engine-class", FAKE_ENGINE_CLASS, "--no-ui"],
        env={"GLMTTS_ENGINE_OPTIONS": OPTIONS},
    )
    assert_probe_order(watch_start(server, 120))

    status = server.client.get("/v1/status").json()
    steps = startup_steps(status)
    assert set(COMMON_STEPS) <= set(steps), sorted(steps)
    assert steps["engine load"]["thread"] == "glmtts-model"
    assert steps["engine load"]["seconds"] >= 1.5  # the fake engine's load delay is inside the step
    assert_overlaps(steps["engine load"], steps["imports: web server + app"])
    voices = steps["voices read from disk"]  # no stored voices here: instant, but on its own thread
    assert voices["thread"] == "voices-reader"
    assert voices["start_s"] <= steps["engine load"]["start_s"] + steps["engine load"]["seconds"]
    assert [s["name"] for s in status["startup"]["steps"] if s["depth"] == 1][-4:] == [
        "engine.warmup",
        "encoders",
        "http",
        "gc: collect + freeze",
    ]
    assert status["warmup"]["done"] == status["warmup"]["total"] == 3
    table = server.log()
    assert "start-up steps:" in table and "engine load (fake)" in table and "ready" in table

    body = {"input": "One sentence. And another one.", "response_format": "mp3"}
    ratio = first_over_warm(lambda: server.client.post("/v1/audio/speech", json=body))
    assert ratio < 1.5, ratio


def test_zero_warmup_rounds_keeps_engine_and_encoders(server_factory: Any) -> None:
    server = server_factory(
        ["--engine", "fake", "--engine-class", FAKE_ENGINE_CLASS, "--no-ui", "--warmup-rounds", "0"]
    )
    server.wait_ready(60)
    steps = startup_steps(server.client.get("/v1/status").json())
    assert {"engine.warmup", "encoders"} <= set(steps) and "http" not in steps
