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
        assert frozen == gc.get_freeze_count() > 0
        assert kept[0] is not None
        assert gc.get_count()[2] == 0  # nothing is left pending for a full collection
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
