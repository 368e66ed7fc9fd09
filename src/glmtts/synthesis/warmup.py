"""The warm-up plan: the least work that makes the first request of every kind as fast as the rest.

Measured (bench/README.md, "Start-up"): what is cold in a fresh process is one-time set-up, not shapes —
the engine's own first inference and text/voice code paths (``engine.warmup``), each encoder's first use
(primed here on a tiny buffer, no synthesis) and the HTTP layer's first request per route (the server adds
that as an extra step, with tiny texts). A longer text, a second sentence or the same encoder again are
already warm after these, so they stay out. ``rounds`` 0 keeps only the engine warm-up and the encoders.
Last, the heap is settled (:func:`settle_heap`), so no first request pays Python's first full collection.

The steps run side by side: the encoders on a helper thread, the HTTP requests on the event loop while the
model thread runs the engine's warm-up (their tiny syntheses queue behind it on the one model thread), so
the warm-up costs about the engine's own step plus a few tiny syntheses, not the sum of all steps.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable, Sequence

import numpy as np

from glmtts.audio import AudioFormat, StreamEncoder, encode_audio
from glmtts.synthesis.service import SynthesisService
from glmtts.timing import step

_LOGGER = logging.getLogger(__name__)

#: 0.1 s of quiet noise: enough for every encoder to set up, write a frame and flush.
PRIMING_SECONDS = 0.1

Step = tuple[str, Callable[[], Awaitable[object]]]


def synthetic_voice_samples(sample_rate: int, seed: int, duration_s: float = 3.0) -> np.ndarray:
    """A voiced-like clip (harmonics with vibrato and a syllable-rate envelope) that passes prompt checks."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    f0 = (110.0 + 40.0 * rng.random()) * (1.0 + 0.04 * np.sin(2 * np.pi * 4.0 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    wave = sum(np.sin(k * phase) * np.exp(-0.35 * k) for k in range(1, 20))
    envelope = 0.3 + 0.7 * np.abs(np.sin(2 * np.pi * 2.5 * t))
    noise = 0.002 * rng.standard_normal(t.size)
    return (0.25 * envelope * wave / np.max(np.abs(wave)) + noise).astype(np.float32)


def prime_encoders(sample_rate: int) -> int:
    """Encode a tiny buffer in every output format, whole and streamed; return the bytes produced."""
    rng = np.random.default_rng(0)
    samples = (0.01 * rng.standard_normal(int(PRIMING_SECONDS * sample_rate))).astype(np.float32)
    n_bytes = 0
    for audio_format in AudioFormat:
        n_bytes += len(encode_audio(samples, sample_rate, audio_format))
        stream = StreamEncoder(audio_format, sample_rate)
        n_bytes += len(stream.encode(samples)) + len(stream.finish())
    return n_bytes


class Warmup:
    """Named steps run side by side: the engine's warm-up on the model thread, the encoders, ``extra_steps``."""

    def __init__(self, service: SynthesisService, rounds: int, extra_steps: Sequence[Step] = ()) -> None:
        self.service = service
        self.rounds = rounds
        self.extra_steps = list(extra_steps)

    def steps(self) -> list[Step]:
        worker = self.service.worker
        sample_rate = self.service.host.sample_rate
        steps: list[Step] = [
            ("engine.warmup", lambda: asyncio.wrap_future(worker.submit(lambda e: e.warmup()))),
            ("encoders", lambda: asyncio.to_thread(prime_encoders, sample_rate)),
        ]
        return steps + (self.extra_steps if self.rounds > 0 else [])

    async def run(self) -> None:
        """Run every step concurrently; the first failure is raised once all have finished."""
        steps = self.steps()
        lifecycle = self.service.host.lifecycle
        lifecycle.start_warmup(len(steps))

        async def timed(name: str, run_step: Callable[[], Awaitable[object]]) -> None:
            with step(name):
                await run_step()
            lifecycle.report_warmup(name)

        results = await asyncio.gather(*(timed(n, s) for n, s in steps), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        with step("gc: collect + freeze"):
            await asyncio.to_thread(settle_heap)


def settle_heap() -> int:
    """Collect the start-up garbage, then freeze what is left (:func:`gc.freeze`); return the objects frozen.

    Loading and warming up leave a few hundred thousand long-lived objects (frameworks, models, caches).
    Without this, Python's first full collections after ``/ready`` scan all of them (~0.1 s each on the
    2-core machine) inside the first requests; frozen, later collections only look at what requests make.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
