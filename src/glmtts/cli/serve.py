"""``glmtts serve``: load and warm up the engine, then serve the HTTP API (and the WebUI at /ui).

Every flag is also read from ``GLMTTS_<NAME>`` (flags win). The engine starts loading on its thread before
the web app is built (they overlap); ``/health`` answers as soon as the socket is bound, ``/ready`` turns 200
only after load and warm-up (the start-up table is logged then and kept in ``/v1/status``); a load failure stops the server with exit code 1 (2 for a bad checkpoint) and the reason;
SIGTERM/SIGINT drain in-flight requests, then exit 0.

``--ray`` serves the same app on a fleet of Ray Serve replicas instead (``--replicas N`` or ``--autoscale
MIN:MAX``): a local Ray instance, or the cluster at ``RAY_ADDRESS`` (:mod:`glmtts.ray`, extra ``glmtts[ray]``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from glmtts.errors import EngineError, GlmttsError

_LOGGER = logging.getLogger(__name__)

#: flag dest -> settings field, for flags whose value is passed through when given.
_FIELDS = (
    "host",
    "port",
    "engine",
    "engine_class",
    "ckpt",
    "device",
    "dtype",
    "flow_dtype",
    "hift_dtype",
    "llm_quant",
    "workdir",
    "cache_dir",
    "api_key",
    "max_queue",
    "max_batch_queue",
    "max_batch",
    "batch_token_budget",
    "kv_capacity_tokens",
    "request_timeout_s",
    "max_upload_bytes",
    "min_prompt_s",
    "max_prompt_s",
    "max_text_chars",
    "warmup_rounds",
    "seed",
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the always-warm HTTP server",
        description="Load and warm up the engine, then serve the HTTP API. Every flag also as env GLMTTS_<NAME>.",
    )
    parser.add_argument("--host", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 7860)")
    _add_engine_flags(parser)
    _add_service_flags(parser)
    _add_fleet_flags(parser)
    parser.set_defaults(func=run)


def _add_engine_flags(parser: argparse.ArgumentParser) -> None:
    """Which engine, its checkpoint, device and precision."""
    parser.add_argument("--engine", help="engine name (default kokoro)")
    parser.add_argument("--engine-class", help="register ENGINE as this 'module:Class' first (plugins)")
    parser.add_argument("--ckpt", type=Path, help="checkpoint directory (glm engine)")
    parser.add_argument("--device", help="cpu, cuda or mps (default cpu)")
    parser.add_argument("--dtype", help="the LLM's dtype: float32, bfloat16 or float16")
    parser.add_argument("--flow-dtype", help="the flow model's dtype (glm; default float32)")
    parser.add_argument("--hift-dtype", help="the vocoder's dtype (glm; default float32)")
    parser.add_argument(
        "--llm-quant",
        choices=("none", "int8", "int4"),
        help="weight-only quantization of the LLM's linear layers (glm; default none)",
    )


def _add_service_flags(parser: argparse.ArgumentParser) -> None:
    """State, security, queues and batching, limits, warm-up."""
    parser.add_argument(
        "--workdir", type=Path, help="state directory: voices, dictionary, jobs (default ./glmtts-data)"
    )
    parser.add_argument("--cache-dir", type=Path, help="model/text caches (default: the user cache dir)")
    parser.add_argument("--api-key", help="require 'Authorization: Bearer KEY' on /v1/*")
    parser.add_argument(
        "--max-queue",
        type=int,
        help="interactive requests held at once (default 16; a batching engine's batch counts); more get 429",
    )
    parser.add_argument("--max-batch-queue", type=int, help="batch-job items allowed to wait (default 256)")
    parser.add_argument(
        "--max-batch",
        type=int,
        help="sequences decoded together per step by a batching engine (glm; 1 = serial)",
    )
    parser.add_argument(
        "--batch-token-budget", type=int, help="tokens one batched step may process (long prefills split)"
    )
    parser.add_argument(
        "--kv-capacity-tokens", type=int, help="KV-cache positions preallocated over all sequences"
    )
    parser.add_argument("--request-timeout-s", type=float, help="per-request timeout counted from enqueue")
    parser.add_argument("--max-upload-bytes", type=int, help="upload size limit (default 20 MiB)")
    parser.add_argument("--min-prompt-s", type=float, help="shortest prompt clip accepted (seconds)")
    parser.add_argument("--max-prompt-s", type=float, help="longest prompt clip accepted (default 30 s)")
    parser.add_argument("--max-text-chars", type=int, help="longest text accepted (default 20000)")
    parser.add_argument(
        "--warmup-rounds", type=int, help="warm-up rounds per request shape (default 1; 0 = engine only)"
    )
    parser.add_argument("--seed", type=int, help="default seed (default 42)")
    parser.add_argument(
        "--no-ui", dest="ui", action="store_false", default=None, help="do not mount the WebUI"
    )
    parser.add_argument(
        "--lazy", action="store_true", default=None, help="load on the first request (benchmarks)"
    )


def _add_fleet_flags(parser: argparse.ArgumentParser) -> None:
    """``--ray`` and the fleet's size."""
    fleet = parser.add_argument_group("fleet (Ray Serve; needs the glmtts[ray] extra)")
    fleet.add_argument(
        "--ray", action="store_true", help="serve on Ray replicas (local Ray, or the cluster at RAY_ADDRESS)"
    )
    size = fleet.add_mutually_exclusive_group()
    size.add_argument("--replicas", type=int, help="a fixed number of replicas (default 1)")
    size.add_argument("--autoscale", metavar="MIN:MAX", help="autoscale on ongoing requests per replica")
    fleet.add_argument(
        "--target-ongoing", type=float, help="autoscaling target: ongoing requests per replica (default 2)"
    )
    fleet.add_argument("--num-gpus", type=float, help="GPUs per replica (default 0)")


def _run_fleet(args: argparse.Namespace) -> int:
    from glmtts.errors import InvalidOptionError

    try:
        from glmtts.ray.fleet import run_fleet
        from glmtts.ray.options import FleetSettings
    except ImportError as exc:
        raise InvalidOptionError(f"--ray needs the ray extra: pip install 'glmtts[ray]' ({exc})") from None
    fleet = FleetSettings.from_mapping(
        {
            "replicas": args.replicas,
            "autoscale": args.autoscale,
            "target_ongoing": args.target_ongoing,
            "num_gpus": args.num_gpus,
        }
    )
    return run_fleet(build_settings(args), fleet)


def build_settings(args: argparse.Namespace) -> Any:
    """ServeSettings from flags given on the command line, the rest from GLMTTS_* env and defaults."""
    from pydantic import ValidationError

    from glmtts.errors import InvalidOptionError
    from glmtts.serving.settings import ServeSettings

    given = {
        name: getattr(args, name)
        for name in (*_FIELDS, "ui", "lazy")
        if getattr(args, name, None) is not None
    }
    try:
        return ServeSettings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidOptionError(f"invalid setting {where}: {first.get('msg')}") from None


def run(args: argparse.Namespace) -> int:
    if getattr(args, "ray", False):
        return _run_fleet(args)
    if any(getattr(args, name, None) is not None for name in ("replicas", "autoscale", "target_ongoing")):
        from glmtts.errors import InvalidOptionError

        raise InvalidOptionError("--replicas, --autoscale and --target-ongoing need --ray")
    from glmtts.timing import StartupTimer

    timer = StartupTimer()
    timer.add("python start + CLI imports", timer.origin, time.monotonic())
    with timer.step("imports: settings + composition"):
        from glmtts.serving.composition import build_services

    settings = build_settings(args)
    glmtts_logger = logging.getLogger("glmtts")
    glmtts_logger.setLevel(min(logging.getLogger().getEffectiveLevel(), logging.INFO))
    with timer.step("build services"):
        services = build_services(settings, timer=timer)
    services.begin_load()  # the engine loads on the model thread while the web app is built here
    try:
        with timer.step("imports: web server + app"):
            import uvicorn  # noqa: F401 - imported here so the start-up table times it; used by _serve

            from glmtts.serving.api.app import create_app
            from glmtts.ui.app import build_ui
        with timer.step("app build", "with WebUI" if settings.ui_enabled else "no WebUI"):
            app = create_app(settings, ui_factory=build_ui, services=services)
    except BaseException:
        services.runtime.worker.stop(drain=False, timeout_s=5.0)
        raise
    _serve(app, settings, services)
    return 0


def _serve(app: Any, settings: Any, services: Any) -> None:
    """Run uvicorn until a stop signal (draining first); raise what made the start fail, if anything."""
    import uvicorn

    from glmtts.synthesis import Phase

    glmtts_logger = logging.getLogger("glmtts")
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info" if glmtts_logger.isEnabledFor(logging.INFO) else "warning",
        timeout_graceful_shutdown=int(settings.drain_timeout_s) or None,
        lifespan="on",
    )

    class DrainingServer(uvicorn.Server):
        """Marks the lifecycle DRAINING as soon as a stop signal arrives."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            if services.lifecycle.phase is not Phase.FAILED:
                services.lifecycle.set_phase(Phase.DRAINING)
            super().handle_exit(sig, frame)

    server = DrainingServer(config)
    services.lifecycle.on_failure(lambda _exc: setattr(server, "should_exit", True))
    _LOGGER.info("glmtts serving on http://%s:%d (engine %s)", settings.host, settings.port, settings.engine)
    with _signals_end_cleanly():
        server.run()
    failure = services.lifecycle.failure
    if failure is not None:
        if isinstance(failure, GlmttsError):
            raise failure
        raise EngineError(f"start-up failed: {type(failure).__name__}: {failure}") from failure
    if not server.started:
        raise EngineError(f"the server could not start on {settings.host}:{settings.port} (port in use?)")


@contextlib.contextmanager
def _signals_end_cleanly() -> Iterator[None]:
    """uvicorn re-raises a stop signal after draining; a drained stop is a normal exit (0) for us."""
    stop_signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda _sig, _frame: None) for sig in stop_signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
