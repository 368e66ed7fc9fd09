"""Memory control and reporting: release caches, sleep (park weights in host RAM), wake.

All engine calls run on the model worker, between requests. Process memory comes from ``/proc`` (Linux) or
the peak RSS reported by :mod:`resource` elsewhere.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import resource
import sys
import time
from typing import Any

from glmtts.engines.base import Engine
from glmtts.errors import ConflictError
from glmtts.synthesis import Phase, Runtime

_LOGGER = logging.getLogger(__name__)


def process_rss_bytes() -> int:
    """Resident set size of this process in bytes."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)


class MemoryControl:
    """Release / sleep / wake the engine through the worker and keep the last engine memory report."""

    def __init__(self, runtime: Runtime) -> None:
        self.worker = runtime.worker
        self.lifecycle = runtime.lifecycle
        self.voices = runtime.voices
        self.host = runtime.host
        self.engine_bytes: dict[str, int] = {}

    def refresh(self, engine: Engine) -> dict[str, int]:
        """Read the engine's memory report (call on the model thread)."""
        try:
            self.engine_bytes = dict(engine.memory_bytes())
        except Exception:  # boundary: a report must never break serving
            _LOGGER.warning("engine.memory_bytes() failed", exc_info=True)
        return self.engine_bytes

    def snapshot(self) -> dict[str, Any]:
        return {
            "process_rss_bytes": process_rss_bytes(),
            "engine_bytes": dict(self.engine_bytes),
            "engine_total_bytes": sum(self.engine_bytes.values()),
            "weights_bytes": self.weights_bytes(),
            "voice_cache": self.voices.cache_stats(),
        }

    def weights_bytes(self) -> dict[str, dict[str, int]]:
        """Weight bytes per component ``{"before_quantization": {...}, "after_quantization": {...}}`` (if reported)."""
        info = self.host.info
        report = info.details.get("weights_bytes", {}) if info is not None else {}
        return {stage: dict(components) for stage, components in report.items()}

    def _release_on_worker(self, engine: Engine) -> dict[str, Any]:
        before_engine = sum(self.refresh(engine).values())
        before_rss = process_rss_bytes()
        freed_by_engine = int(engine.release() or 0)
        n_voices = self.voices.clear_cache()
        gc.collect()
        after_engine = sum(self.refresh(engine).values())
        return {
            "bytes_before": before_engine,
            "bytes_after": after_engine,
            "freed_bytes": freed_by_engine,
            "rss_before": before_rss,
            "rss_after": process_rss_bytes(),
            "voice_cache_entries_dropped": n_voices,
        }

    async def release(self) -> dict[str, Any]:
        """Free rebuildable caches; report bytes before and after."""
        return await asyncio.wrap_future(self.worker.submit(self._release_on_worker))

    def _sleep_on_worker(self, engine: Engine) -> dict[str, Any]:
        if self.lifecycle.phase is not Phase.READY:
            raise ConflictError(f"can only sleep when ready (phase: {self.lifecycle.phase.value})")
        started = time.monotonic()
        before = sum(self.refresh(engine).values())
        engine.sleep()
        gc.collect()
        self.lifecycle.set_phase(Phase.SLEEPING)
        after = sum(self.refresh(engine).values())
        return {
            "phase": "sleeping",
            "seconds": round(time.monotonic() - started, 4),
            "bytes_before": before,
            "bytes_after": after,
        }

    async def sleep(self) -> dict[str, Any]:
        """Park weights in host memory and free device memory; ``/ready`` reports 503 until :meth:`wake`."""
        return await asyncio.wrap_future(self.worker.submit(self._sleep_on_worker))

    def _wake_on_worker(self, engine: Engine) -> dict[str, Any]:
        if self.lifecycle.phase is not Phase.SLEEPING:
            raise ConflictError(f"can only wake when sleeping (phase: {self.lifecycle.phase.value})")
        started = time.monotonic()
        engine.wake()
        self.lifecycle.set_phase(Phase.READY)
        after = sum(self.refresh(engine).values())
        return {"phase": "ready", "seconds": round(time.monotonic() - started, 4), "bytes_after": after}

    async def wake(self) -> dict[str, Any]:
        """Restore the weights parked by :meth:`sleep`."""
        return await asyncio.wrap_future(self.worker.submit(self._wake_on_worker))
