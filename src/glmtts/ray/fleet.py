"""The Serve application of a fleet, and ``glmtts serve --ray``: start it locally or on a cluster.

:func:`fleet_app` binds the replica deployment with the server's settings and the fleet's shape;
:func:`build_app` is the same from ``serve run`` arguments (``glmtts.ray:build_app``); :func:`run_fleet`
joins the cluster at ``RAY_ADDRESS`` (or starts a local Ray instance), serves the app on the settings'
host and port until SIGINT/SIGTERM, then deletes it (replicas drain their in-flight requests).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from glmtts.errors import InvalidOptionError
from glmtts.ray.options import APP_NAME, FleetSettings, deployment_options
from glmtts.serving.settings import ServeSettings

_LOGGER = logging.getLogger(__name__)

#: ``serve run`` argument names that shape the fleet; every other argument is a ``ServeSettings`` field.
FLEET_KEYS = frozenset(
    ("replicas", "autoscale", "target_ongoing", "max_queued", "retry_after_s", "num_cpus", "num_gpus")
)


def fleet_app(settings: ServeSettings, fleet: FleetSettings) -> Any:
    """The bound Serve application (``serve.run`` it, or return it from a builder)."""
    from glmtts.ray.replica import GlmttsReplica, replica_args

    settings_json, fleet_json = replica_args(settings, fleet)
    deployment: Any = GlmttsReplica  # a ray.serve Deployment (the decorator's type is not visible to mypy)
    return deployment.options(**deployment_options(settings, fleet)).bind(settings_json, fleet_json)


def build_app(args: Mapping[str, Any]) -> Any:
    """Application builder for ``serve run glmtts.ray:build_app KEY=VALUE ...`` and KubeRay ``serveConfigV2``.

    Keys: the fleet's (``replicas``, ``autoscale`` as ``MIN:MAX``, ``target_ongoing``, ``max_queued``,
    ``retry_after_s``, ``num_cpus``, ``num_gpus``) and any ``glmtts serve`` setting by its field name
    (``engine``, ``ckpt``, ``device``, ``workdir``, ``max_queue``, …; the rest from ``GLMTTS_*``). Put
    ``workdir`` on storage every node shares, so stored voices and pronunciations reach every replica.
    """
    fleet_values = {key: value for key, value in args.items() if key in FLEET_KEYS}
    try:
        settings = ServeSettings(**{key: value for key, value in args.items() if key not in FLEET_KEYS})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise InvalidOptionError(f"invalid setting {where}: {first.get('msg')}") from None
    return fleet_app(settings, FleetSettings.from_mapping(fleet_values))


def run_fleet(settings: ServeSettings, fleet: FleetSettings) -> int:
    """Serve ``settings`` on a fleet until a stop signal; returns the exit status (0)."""
    import ray
    from ray import serve

    address = os.environ.get("RAY_ADDRESS") or None
    if address is None:
        settings = settings.model_copy(update={"workdir": settings.workdir.resolve()})
    ray.init(address=address, include_dashboard=False if address is None else None, log_to_driver=False)
    try:
        serve.start(http_options={"host": settings.host, "port": settings.port})
        serve.run(fleet_app(settings, fleet), name=APP_NAME, route_prefix="/", blocking=False)
        _LOGGER.warning(
            "glmtts fleet serving on http://%s:%d (%s, engine %s)",
            settings.host,
            settings.port,
            f"autoscale {fleet.autoscale[0]}:{fleet.autoscale[1]}"
            if fleet.autoscale
            else f"{fleet.replicas} replicas",
            settings.engine,
        )
        _wait_for_stop_signal()
        serve.delete(APP_NAME)
        if address is None:
            serve.shutdown()
    finally:
        ray.shutdown()
    return 0


def _wait_for_stop_signal() -> None:
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda _sig, _frame: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        while not stop.wait(1.0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
