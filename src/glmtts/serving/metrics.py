"""Prometheus metrics of one server instance (its own registry: no global state).

Histograms: request latency by route, time to first audio and queue time per request by route, real-time
factor, streaming continuity per streamed request (share of chunks ready before the audio ahead had
played), task queue wait by priority, and for batching engines the batch size and duration of each step.
Gauges (read at scrape time): phase, queue depth and sequences in the running batch by priority, process
and engine memory (the engine's ``kv_cache`` among its components), weight bytes per component before and
after quantization.
Counters: requests by route, method and status; seconds of audio produced; sequence steps run in batches
(one speech token per decoding sequence: its rate is the speech tokens per second; the rate of the
batch-size histogram's count is the steps per second).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from glmtts.synthesis import Phase, Summary

LATENCY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
RTF_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)
BATCH_SIZE_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128)
STEP_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SHARE_BUCKETS = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)


class _StateCollector(Collector):
    """Gauges computed when scraped from callables returning the current state."""

    def __init__(
        self,
        phase: Callable[[], Phase],
        queue_depths: Callable[[], dict[str, int]],
        memory: Callable[[], dict[str, Any]],
        in_flight: Callable[[], dict[str, int]],
    ) -> None:
        self._phase = phase
        self._queue_depths = queue_depths
        self._memory = memory
        self._in_flight = in_flight

    def collect(self) -> Iterator[GaugeMetricFamily]:
        phase_gauge = GaugeMetricFamily("glmtts_phase", "1 for the current server phase", labels=["phase"])
        current = self._phase()
        for phase in Phase:
            phase_gauge.add_metric([phase.value], 1.0 if phase is current else 0.0)
        yield phase_gauge
        depth = GaugeMetricFamily(
            "glmtts_queue_depth", "tasks waiting for the model worker", labels=["priority"]
        )
        for priority, n_waiting in self._queue_depths().items():
            depth.add_metric([priority], float(n_waiting))
        yield depth
        batch = GaugeMetricFamily(
            "glmtts_batch_in_flight", "sequences in the running batch", labels=["priority"]
        )
        for priority, n_sequences in self._in_flight().items():
            batch.add_metric([priority], float(n_sequences))
        yield batch
        memory = self._memory()
        mem = GaugeMetricFamily("glmtts_memory_bytes", "memory held, by component", labels=["component"])
        mem.add_metric(["process_rss"], float(memory.get("process_rss_bytes", 0)))
        for component, n_bytes in memory.get("engine_bytes", {}).items():
            mem.add_metric([f"engine_{component}"], float(n_bytes))
        yield mem
        weights = GaugeMetricFamily(
            "glmtts_weight_bytes",
            "model weight bytes by component, before and after quantization",
            labels=["component", "stage"],
        )
        for stage, components in memory.get("weights_bytes", {}).items():
            for component, n_bytes in components.items():
                weights.add_metric([component, stage], float(n_bytes))
        yield weights


class ServingMetrics:
    """All metrics of one app; :meth:`render` gives the Prometheus text exposition."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "glmtts_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "glmtts_request_latency_seconds",
            "HTTP request latency (until the last byte)",
            ["route"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.ttfa = Histogram(
            "glmtts_time_to_first_audio_seconds",
            "enqueue to first audio chunk",
            ["route"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.rtf = Histogram(
            "glmtts_real_time_factor",
            "synthesis seconds per second of audio",
            buckets=RTF_BUCKETS,
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "glmtts_queue_wait_seconds",
            "time tasks waited for the model worker",
            ["priority"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.audio_seconds = Counter(
            "glmtts_audio_seconds", "seconds of audio synthesized", registry=self.registry
        )
        self._add_request_metrics()
        self._add_batch_metrics()

    def _add_request_metrics(self) -> None:
        self.request_queue = Histogram(
            "glmtts_request_queue_seconds",
            "enqueue to the start of synthesis, per request",
            ["route"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.continuity = Histogram(
            "glmtts_stream_continuity",
            "per streamed request: share of chunks ready before the audio ahead of them had played",
            ["route"],
            buckets=SHARE_BUCKETS,
            registry=self.registry,
        )

    def _add_batch_metrics(self) -> None:
        self.batch_size = Histogram(
            "glmtts_batch_size",
            "sequences in each batched step",
            buckets=BATCH_SIZE_BUCKETS,
            registry=self.registry,
        )
        self.step_seconds = Histogram(
            "glmtts_batch_step_seconds",
            "duration of each batched step",
            buckets=STEP_BUCKETS_S,
            registry=self.registry,
        )
        self.sequence_steps = Counter(
            "glmtts_batch_sequence_steps",
            "sequence steps run in batches (speech tokens decoded, for an autoregressive engine)",
            registry=self.registry,
        )

    def bind_state(
        self,
        phase: Callable[[], Phase],
        queue_depths: Callable[[], dict[str, int]],
        memory: Callable[[], dict[str, Any]],
        in_flight: Callable[[], dict[str, int]],
    ) -> None:
        """Register the scrape-time gauges (once per app)."""
        self.registry.register(_StateCollector(phase, queue_depths, memory, in_flight))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_synthesis(self, route: str, summary: Summary, streamed: bool) -> None:
        """One finished request (its continuity only when it was streamed to its client)."""
        timings = summary.timings
        self.ttfa.labels(route).observe(timings.first_audio_s)
        self.request_queue.labels(route).observe(timings.queue_wait_s)
        self.rtf.observe(summary.rtf)
        self.audio_seconds.inc(summary.audio_s)
        if streamed:
            self.continuity.labels(route).observe(timings.continuity)

    def observe_step(self, n_sequences: int, seconds: float) -> None:
        """One batched step of the model worker."""
        self.batch_size.observe(n_sequences)
        self.step_seconds.observe(seconds)
        self.sequence_steps.inc(n_sequences)

    def observe_task(self, priority: str, wait_s: float) -> None:
        self.queue_wait.labels(priority).observe(wait_s)

    def render(self) -> bytes:
        return generate_latest(self.registry)
