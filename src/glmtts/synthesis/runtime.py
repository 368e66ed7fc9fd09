"""Composition of the synthesis runtime from plain values: worker, voices, host, service, decoder.

The server builds one with its settings (:func:`glmtts.serving.composition.build_services`); the CLI, batch
runs and the public Python API build the same thing in process (:func:`open_runtime`), so every front
end runs the same code. :func:`engine_config` is the one place engine flags (CLI or settings) map into
an :class:`~glmtts.engines.base.EngineConfig`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from glmtts.engines.base import Engine, EngineConfig, EngineInfo
from glmtts.engines.registry import create_engine, register_engine
from glmtts.synthesis.host import EngineHost, LoadHook
from glmtts.synthesis.lifecycle import Lifecycle
from glmtts.synthesis.request import Defaults, Limits, RequestDecoder
from glmtts.synthesis.service import SynthesisObserver, SynthesisService
from glmtts.synthesis.worker import ModelWorker, QueueLimits, StepObserver, TaskObserver
from glmtts.timing import StartupTimer
from glmtts.voices import FeatureCache, VoiceLibrary, VoiceStore


def engine_config(
    name: str = "kokoro",
    *,
    engine_class: str | None = None,
    ckpt: Path | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    n_threads: int = 2,
    cache_dir: Path | None = None,
    dictionary: Path | None = None,
    flow_dtype: str | None = None,
    hift_dtype: str | None = None,
    max_batch: int | None = None,
    batch_token_budget: int | None = None,
    kv_capacity_tokens: int | None = None,
    llm_quant: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> EngineConfig:
    """The engine configuration for these flags; ``engine_class`` (``"module:Class"``) registers ``name``.

    Component and batching flags land in ``EngineConfig.extra`` under their own names (``flow_dtype``,
    ``hift_dtype``, ``llm_quant``, ``max_batch``, ``batch_token_budget``, ``kv_capacity_tokens``: what a batching engine
    reads into its :class:`~glmtts.engines.batching.BatchLimits`); ``options`` are passed through as extra
    too (given flags win).
    """
    if engine_class:
        register_engine(name, engine_class)
    extra: dict[str, Any] = dict(options or {})
    flags: dict[str, Any] = {
        "flow_dtype": flow_dtype,
        "hift_dtype": hift_dtype,
        "llm_quant": llm_quant,
        "max_batch": max_batch,
        "batch_token_budget": batch_token_budget,
        "kv_capacity_tokens": kv_capacity_tokens,
    }
    for key, value in flags.items():
        if value is not None:
            extra[key] = value
    return EngineConfig(
        name=name,
        ckpt_dir=ckpt,
        device=device,
        dtype=dtype,
        n_threads=n_threads,
        cache_dir=cache_dir,
        dictionary_path=dictionary,
        extra=extra,
    )


@dataclass(frozen=True)
class RuntimeConfig:
    """Everything a runtime needs besides the engine, as plain values."""

    defaults: Defaults = field(default_factory=Defaults)
    limits: Limits = field(default_factory=Limits)
    #: Stored voices (None: none, and adding one is refused).
    voices_dir: Path | None = None
    #: On-disk tier of the prompt-voice cache (None: memory only).
    voice_features_dir: Path | None = None
    voice_cache_size: int = 64
    voice_features_max: int = 1000
    queue: QueueLimits = field(default_factory=QueueLimits)
    request_timeout_s: float | None = None
    lazy: bool = False
    log_requests: bool = True


@dataclass
class Runtime:
    """One engine on its worker thread with the voice subsystem, the host and the service around it."""

    worker: ModelWorker
    lifecycle: Lifecycle
    voices: VoiceLibrary
    host: EngineHost
    service: SynthesisService
    config: RuntimeConfig

    @property
    def decoder(self) -> RequestDecoder:
        return self.service.decoder

    @property
    def engine(self) -> Engine:
        """The engine; only the model thread may call it (use ``service.call``)."""
        return self.worker.engine

    def load(self) -> EngineInfo:
        """Start the worker, load the engine and turn READY (blocking; no warm-up)."""
        return self.host.load_now()

    def close(self) -> None:
        """Finish queued work and stop the worker thread."""
        self.worker.stop(drain=True)

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def build_runtime(
    engine: Engine,
    config: RuntimeConfig | None = None,
    *,
    observer: SynthesisObserver | None = None,
    task_observer: TaskObserver | None = None,
    step_observer: StepObserver | None = None,
    on_load: Sequence[LoadHook] = (),
    timer: StartupTimer | None = None,
) -> Runtime:
    """Wire a runtime around ``engine`` (nothing loads, the worker is not started); ``timer`` records the
    load and warm-up steps (the host makes its own when None)."""
    config = config or RuntimeConfig()
    worker = ModelWorker(engine, config.queue, observer=task_observer, step_observer=step_observer)
    lifecycle = Lifecycle()
    disk = (
        FeatureCache(config.voice_features_dir, config.voice_features_max)
        if config.voice_features_dir
        else None
    )
    voices = VoiceLibrary(VoiceStore(config.voices_dir), engine.name, config.voice_cache_size, disk)
    host = EngineHost(worker, lifecycle, voices, lazy=config.lazy, on_load=on_load, timer=timer)
    decoder = RequestDecoder(config.defaults, config.limits)
    service = SynthesisService(
        host,
        worker,
        voices,
        decoder,
        request_timeout_s=config.request_timeout_s,
        log_requests=config.log_requests,
        observer=observer,
    )
    return Runtime(worker, lifecycle, voices, host, service, config)


def open_runtime(engine: EngineConfig | Engine, config: RuntimeConfig | None = None) -> Runtime:
    """A loaded in-process runtime (CLI, batch runs, the public API); close it when done."""
    runtime = build_runtime(engine if isinstance(engine, Engine) else create_engine(engine), config)
    try:
        runtime.load()
    except BaseException:
        runtime.close()
        raise
    return runtime
