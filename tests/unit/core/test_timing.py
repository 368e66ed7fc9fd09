"""The start-up timer: nesting across threads, order under the parent, the table and the JSON view."""

from __future__ import annotations

import contextvars
import threading
import time

from glmtts.timing import StartupTimer, recording, step


def test_steps_nest_across_threads_and_sort_under_their_parent() -> None:
    timer = StartupTimer(origin=time.monotonic())
    with timer.step("root a"):
        helper = threading.Thread(
            target=contextvars.copy_context().run, args=(lambda: _sleep_step("beside"),), name="helper"
        )
        helper.start()
        with step("inner"):  # module-level step records into the timer of the enclosing step
            time.sleep(0.02)
        helper.join()
    with recording(timer), step("root b", "detail"):
        pass
    with step("outside"):  # no timer current here: nothing recorded
        pass
    names = [(s.name, s.depth, s.thread) for s in timer.steps()]
    assert names == [
        ("root a", 0, "MainThread"),
        ("beside", 1, "helper"),
        ("inner", 1, "MainThread"),
        ("root b", 0, "MainThread"),
    ] or names == [
        ("root a", 0, "MainThread"),
        ("inner", 1, "MainThread"),
        ("beside", 1, "helper"),
        ("root b", 0, "MainThread"),
    ]
    root = timer.steps()[0]
    assert root.seconds >= 0.02 and all(s.start_s >= root.start_s for s in timer.steps())
    timer.mark("ready")
    table = timer.table().splitlines()
    assert table[0].startswith("step") and any(line.startswith("  inner") for line in table)
    assert any(line.startswith("root b (detail)") for line in table) and table[-1].startswith("ready")
    document = timer.to_json()
    assert document["steps"][0]["name"] == "root a" and document["marks"]["ready"] >= 0


def _sleep_step(name: str) -> None:
    with step(name):
        time.sleep(0.01)
