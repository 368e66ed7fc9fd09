"""The warm-up's last step: start-up garbage is collected, the survivors are frozen out of later scans."""

from __future__ import annotations

import gc
import weakref

from glmtts.synthesis.warmup import settle_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_collects_start_up_cycles_and_freezes_the_survivors() -> None:
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    dropped = weakref.ref(first)
    kept = [_Node()]
    del first, second
    try:
        frozen = settle_heap()
        assert dropped() is None  # the cycle left by "start-up" was collected before freezing
        # Frozen objects freed by reference counting (other threads' frames) leave the count, so it is
        # compared as "some", not as the exact number returned.
        assert frozen > 0 and gc.get_freeze_count() > 0
        # A survivor sits in the permanent generation: no collection scans it any more.
        assert not any(obj is kept[0] for obj in gc.get_objects(generation=2))
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
