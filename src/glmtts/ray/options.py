"""How a fleet of replicas is shaped: :class:`FleetSettings` and the Ray Serve deployment options.

Plain values only (no Ray import), so the CLI can parse and check them before Ray starts. The deployment
options follow the server's own settings: a replica takes at most ``max_queue + 1`` requests at once (its
worker's queue bound plus the one running), autoscaling aims at ``target_ongoing`` per replica, and
requests beyond what the fleet holds wait in Ray's queue (``max_queued``) and are then refused with 429 and
``Retry-After`` instead of waiting forever.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from glmtts.errors import InvalidOptionError
from glmtts.serving.settings import ServeSettings

#: Serve application name used by ``glmtts serve --ray`` and the manifests.
APP_NAME = "glmtts"
DEPLOYMENT_NAME = "GlmttsReplica"


@dataclass(frozen=True)
class FleetSettings:
    """The replicas of one fleet: a fixed count, or ``autoscale`` (min, max) on ongoing requests."""

    replicas: int = 1
    autoscale: tuple[int, int] | None = None
    #: Ongoing (queued + running) requests per replica the autoscaler aims at.
    target_ongoing: float = 2.0
    #: Requests allowed to wait in Ray's router when every replica is full (None: the server's max_queue).
    max_queued: int | None = None
    #: Seconds a refused client is told to wait (``Retry-After``).
    retry_after_s: float = 1.0
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    health_check_period_s: float = 10.0
    health_check_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise InvalidOptionError("a fleet needs at least one replica")
        if self.autoscale is not None:
            low, high = self.autoscale
            if low < 1 or high < low:
                raise InvalidOptionError(f"autoscale needs 1 <= MIN <= MAX, got {low}:{high}")
        if self.target_ongoing <= 0:
            raise InvalidOptionError("target_ongoing must be positive")

    @property
    def min_replicas(self) -> int:
        """Replicas that must be warm before the fleet's ``/ready`` answers 200."""
        return self.autoscale[0] if self.autoscale is not None else self.replicas

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["autoscale"] = list(self.autoscale) if self.autoscale is not None else None
        return data

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> FleetSettings:
        """From loosely typed values (``serve run`` arguments, JSON); unknown keys are refused."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InvalidOptionError(f"unknown fleet settings: {', '.join(unknown)}")
        given: dict[str, Any] = {}
        for name, value in values.items():
            if value is None:
                continue
            if name == "autoscale":
                given[name] = parse_autoscale(value) if isinstance(value, str) else tuple(value)
            elif name in ("replicas", "max_queued"):
                given[name] = int(value)
            else:
                given[name] = float(value)
        return cls(**given)


def parse_autoscale(text: str) -> tuple[int, int]:
    """``"MIN:MAX"`` → (min, max)."""
    low, sep, high = text.partition(":")
    try:
        if not sep:
            raise ValueError(text)
        return int(low), int(high)
    except ValueError:
        raise InvalidOptionError(f"--autoscale wants MIN:MAX (e.g. 1:4), got {text!r}") from None


def deployment_options(settings: ServeSettings, fleet: FleetSettings) -> dict[str, Any]:
    """The keyword arguments of ``serve.deployment(...).options`` for this server and fleet."""
    max_ongoing = settings.max_queue + 1
    options: dict[str, Any] = {
        "name": DEPLOYMENT_NAME,
        "max_ongoing_requests": max_ongoing,
        "max_queued_requests": fleet.max_queued if fleet.max_queued is not None else settings.max_queue,
        "backpressure_config": {"status_code": 429, "retry_after_s": math.ceil(fleet.retry_after_s)},
        "ray_actor_options": {"num_cpus": fleet.num_cpus, "num_gpus": fleet.num_gpus},
        "health_check_period_s": fleet.health_check_period_s,
        "health_check_timeout_s": fleet.health_check_timeout_s,
        # Draining a replica finishes its in-flight requests, like ``glmtts serve`` on SIGTERM.
        "graceful_shutdown_timeout_s": settings.drain_timeout_s,
    }
    if fleet.autoscale is None:
        options["num_replicas"] = fleet.replicas
    else:
        low, high = fleet.autoscale
        options["autoscaling_config"] = {
            "min_replicas": low,
            "initial_replicas": low,
            "max_replicas": high,
            "target_ongoing_requests": min(fleet.target_ongoing, float(max_ongoing)),
        }
    return options
