"""Continuous batching on the model worker, in process, on the fake engine's batching mode.

Every test holds the worker with a plain task while it queues its requests, so the first step sees
them all; what happens mid-batch is driven from the fake engine's ``step_hook`` (called on the model
thread at the start of each step), so nothing depends on timing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from glmtts.engines.base import EngineConfig, SynthesisOptions
from glmtts.errors import CancelledError, OverloadedError, RequestTimeoutError
from glmtts.synthesis import Priority, QueueLimits, Runtime, RuntimeConfig, SynthesisRequest, build_runtime
from glmtts.synthesis.stream import SynthesisStream
from tests.support.fake_engine import FakeEngine

SHORT = "One two. Three four."
LONG = "Alpha beta. Gamma delta. Epsilon zeta. Eta theta. Iota kappa. Lambda mu."


def _sentences(n: int, word: str) -> str:
    return " ".join(f"{word} number {index}." for index in range(n))


def _runtime(max_batch: int = 4, queue: QueueLimits | None = None, **extra: Any) -> Runtime:
    config = EngineConfig(name="fake", extra={"batching": True, "max_batch": max_batch, **extra})
    runtime = build_runtime(
        FakeEngine(config), RuntimeConfig(log_requests=False, queue=queue or QueueLimits())
    )
    runtime.load()
    return runtime


@pytest.fixture()
def runtime() -> Iterator[Runtime]:
    with _runtime() as loaded:
        yield loaded


def _engine(runtime: Runtime) -> FakeEngine:
    engine = runtime.engine
    assert isinstance(engine, FakeEngine)
    return engine


def _request(text: str, seed: int = 7) -> SynthesisRequest:
    return SynthesisRequest(text=text, options=SynthesisOptions(seed=seed))


def _solo(text: str, seed: int = 7) -> np.ndarray:
    """The same request on a serial (non-batching) fake engine."""
    engine = FakeEngine(EngineConfig(name="fake"))
    engine.load()
    return engine.synthesize(text, engine.builtin_voice(), SynthesisOptions(seed=seed))


class _Hold:
    """Keeps the model worker busy with a plain task until the block exits (requests queue meanwhile)."""

    def __init__(self, runtime: Runtime) -> None:
        self._release = threading.Event()
        self._started = threading.Event()
        self._future = runtime.worker.submit(lambda _engine: self._hold())

    def _hold(self) -> None:
        self._started.set()
        self._release.wait(10)

    def __enter__(self) -> _Hold:
        assert self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._future.result(10)


def _on_step(engine: FakeEngine, step_index: int, action: Callable[[], None]) -> None:
    """Run ``action`` on the model thread at the start of step ``step_index`` (0-based)."""

    def hook(_n_sequences: int) -> None:
        if len(engine.step_sizes) == step_index:
            action()

    engine.step_hook = hook


def _run_all(runtime: Runtime, texts: list[str], priority: Priority = Priority.INTERACTIVE) -> list[Any]:
    return [runtime.service.run(_request(text, seed), priority) for seed, text in enumerate(texts)]


def test_a_full_batch_decodes_together_and_each_result_equals_the_serial_engine(runtime: Runtime) -> None:
    texts = [LONG, SHORT, _sentences(3, "x"), _sentences(5, "y"), _sentences(2, "z"), SHORT + " Five."]
    with _Hold(runtime):
        streams = _run_all(runtime, texts)
    results = [stream.collect() for stream in streams]
    engine = _engine(runtime)
    assert engine.step_sizes[0] == 4 and max(engine.step_sizes) == 4  # max_batch bounds every step
    assert sum(engine.step_sizes) == sum(len(result.chunks) for result in results)
    for seed, (text, result) in enumerate(zip(texts, results, strict=True)):
        np.testing.assert_array_equal(result.samples, _solo(text, seed))
    assert engine.n_released == len(texts) and runtime.worker.in_flight() == 0
    assert runtime.worker.steps.snapshot()["mean_batch_size"] > 1


def test_a_request_joins_a_running_batch_at_the_next_step(runtime: Runtime) -> None:
    engine = _engine(runtime)
    joined: list[SynthesisStream] = []
    late_text = _sentences(3, "late")
    _on_step(engine, 2, lambda: joined.append(runtime.service.run(_request(late_text, 5))))
    with _Hold(runtime):
        first = runtime.service.run(_request(LONG, 1))
    first_result = first.collect()
    late_result = joined[0].collect()
    assert engine.step_sizes[:4] == [1, 1, 1, 2]  # queued during step 3, decoding from step 4 on
    np.testing.assert_array_equal(first_result.samples, _solo(LONG, 1))
    np.testing.assert_array_equal(late_result.samples, _solo(late_text, 5))


def test_a_finished_request_leaves_and_the_others_go_on(runtime: Runtime) -> None:
    with _Hold(runtime):
        short, long = _run_all(runtime, [SHORT, LONG])
    short_result = short.collect()
    long_result = long.collect()
    engine = _engine(runtime)
    assert engine.step_sizes == [2, 2, 1, 1, 1, 1]
    np.testing.assert_array_equal(short_result.samples, _solo(SHORT, 0))
    np.testing.assert_array_equal(long_result.samples, _solo(LONG, 1))


def test_a_cancelled_request_leaves_mid_batch_without_disturbing_the_others(runtime: Runtime) -> None:
    engine = _engine(runtime)
    with _Hold(runtime):
        streams = _run_all(runtime, [LONG, LONG, LONG])
    _on_step(engine, 2, streams[1].cancel)
    kept = [streams[0].collect(), streams[2].collect()]
    with pytest.raises(CancelledError):
        streams[1].collect()
    assert engine.step_sizes == [3, 3, 3, 2, 2, 2]  # its slot freed before step 4
    assert engine.n_released == 3 and engine.started == [LONG] * 3
    np.testing.assert_array_equal(kept[0].samples, _solo(LONG, 0))
    np.testing.assert_array_equal(kept[1].samples, _solo(LONG, 2))


def test_a_timed_out_request_leaves_mid_batch_with_a_timeout(runtime: Runtime) -> None:
    engine = _engine(runtime)
    voice = engine.builtin_voice()

    def task(text: str, seed: int) -> Any:
        return lambda eng, token: eng.stream_steps(text, voice, SynthesisOptions(seed=seed), token)

    with _Hold(runtime):
        streams = [runtime.worker.submit_stream(task(LONG, seed), timeout_s=60) for seed in range(3)]
    doomed = streams[0].token
    _on_step(engine, 1, lambda: setattr(doomed, "deadline", 0.0))  # its deadline passes during step 2
    others = [np.concatenate([chunk.samples for chunk in stream]) for stream in streams[1:]]
    with pytest.raises(RequestTimeoutError):
        list(streams[0])
    assert engine.step_sizes == [3, 3, 2, 2, 2, 2]
    np.testing.assert_array_equal(others[0], _solo(LONG, 1))
    np.testing.assert_array_equal(others[1], _solo(LONG, 2))


def test_interactive_requests_join_before_batch_ones() -> None:
    with _runtime(max_batch=2) as runtime:
        with _Hold(runtime):
            batch = [runtime.service.run(_request(f"batch {i}."), Priority.BATCH) for i in range(3)]
            interactive = [runtime.service.run(_request(f"interactive {i}.")) for i in range(2)]
        for stream in (*interactive, *batch):
            stream.collect()
        started = _engine(runtime).started
    assert started == ["interactive 0.", "interactive 1.", "batch 0.", "batch 1.", "batch 2."]


def test_plain_tasks_run_between_steps(runtime: Runtime) -> None:
    engine = _engine(runtime)
    described: list[Any] = []
    _on_step(engine, 1, lambda: described.append(runtime.service.call(lambda e: len(e.step_sizes))))
    with _Hold(runtime):
        stream = runtime.service.run(_request(LONG))
    stream.collect()
    assert described[0].result(5) == 2  # ran after step 2, long before the request's 6 steps ended


def test_backpressure_counts_sequences_in_flight_plus_queued() -> None:
    with _runtime(max_batch=2, queue=QueueLimits(interactive=3)) as runtime:
        engine = _engine(runtime)
        seen: dict[str, Any] = {}

        def crowd() -> None:
            seen["in_flight"] = runtime.worker.in_flight()
            seen["third"] = runtime.service.run(_request(SHORT))  # 2 in flight + 0 waiting: room
            try:
                runtime.service.run(_request(SHORT))  # 2 in flight + 1 waiting: full
            except OverloadedError as exc:
                seen["refused"] = exc

        _on_step(engine, 1, crowd)
        with _Hold(runtime):
            streams = _run_all(runtime, [LONG, LONG])
        for stream in streams:
            stream.collect()
        seen["third"].collect()
    assert seen["in_flight"] == 2
    assert isinstance(seen["refused"], OverloadedError) and seen["refused"].retry_after_s >= 1


def test_max_batch_one_runs_serially_with_the_same_output() -> None:
    with _runtime(max_batch=1) as runtime:
        with _Hold(runtime):
            streams = _run_all(runtime, [LONG, SHORT])
        results = [stream.collect() for stream in streams]
        engine = _engine(runtime)
        assert engine.step_sizes == [1] * 8 and engine.started == [LONG, SHORT]
        assert runtime.worker.steps.n_steps == 0  # the serial loop drove them, not the scheduler
    np.testing.assert_array_equal(results[0].samples, _solo(LONG, 0))
    np.testing.assert_array_equal(results[1].samples, _solo(SHORT, 1))


def test_a_failing_request_fails_alone(runtime: Runtime) -> None:
    with _Hold(runtime):
        bad, good = _run_all(runtime, ["BOOM here.", LONG])
    with pytest.raises(RuntimeError, match="fake engine bug"):
        bad.collect()
    np.testing.assert_array_equal(good.collect().samples, _solo(LONG, 1))
