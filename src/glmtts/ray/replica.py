"""One Ray Serve replica: the same server as ``glmtts serve``, built from plain settings, warm when RUNNING.

The constructor builds the services with :func:`glmtts.serving.composition.build_services` and the web app
with :func:`glmtts.serving.api.app.create_app` (the same routes, errors and limits) and starts the engine
load; Ray then runs the app's start-up, which returns only once the engine is loaded and warm
(``warm_before_serving``), so Ray routes to a replica only when it is warm. The replica is the HTTP ingress
itself: streamed audio goes from the model-owning replica to Ray's proxy, through no other deployment.

Per request, :class:`ReplicaMiddleware` names the replica in ``X-Glmtts-Replica`` and applies a
pronunciation file another replica replaced (one ``stat`` when nothing changed). ``/ready`` is 200 only when
at least the fleet's minimum of replicas is RUNNING (:class:`FleetReadiness`). ``check_health`` fails when
the model thread died or, when idle, does not run a no-op task within the timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ray import serve
from ray.serve.schema import ReplicaState
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from glmtts.errors import GlmttsError
from glmtts.ray.options import DEPLOYMENT_NAME, FleetSettings
from glmtts.serving.api.app import create_app
from glmtts.serving.composition import Services, build_services
from glmtts.serving.settings import ServeSettings

_LOGGER = logging.getLogger(__name__)

REPLICA_HEADER = b"x-glmtts-replica"
#: How long a fleet status read is reused by ``/ready`` (probes come every few seconds).
FLEET_STATUS_TTL_S = 1.0


class ReplicaMiddleware:
    """Adds ``X-Glmtts-Replica`` to every response; picks up pronunciation edits of other replicas first."""

    def __init__(self, app: ASGIApp, replica: str, services: Services) -> None:
        self.app = app
        self.header = (REPLICA_HEADER, replica.encode())
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self._sync_pronunciations()

        async def send_named(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self.header]
            await send(message)

        await self.app(scope, receive, send_named)

    async def _sync_pronunciations(self) -> None:
        entries = self.services.pronunciations.reload_if_changed()
        if entries is None:
            return
        try:
            await asyncio.wrap_future(self.services.service.set_pronunciations(entries))
        except GlmttsError as exc:  # a full queue: the next request tries again
            _LOGGER.warning("pronunciation edit not applied yet: %s", exc)
            self.services.pronunciations.forget_version()
        else:
            _LOGGER.info("applied %d pronunciation entries edited on another replica", len(entries))


class FleetReadiness:
    """A ``/ready`` gate: at least ``min_replicas`` replicas of this deployment are RUNNING (warm)."""

    def __init__(self, app_name: str, deployment: str, min_replicas: int) -> None:
        self.app_name = app_name
        self.deployment = deployment
        self.min_replicas = min_replicas
        self._checked_at = -FLEET_STATUS_TTL_S
        self._running = 0

    async def __call__(self) -> str | None:
        if time.monotonic() - self._checked_at >= FLEET_STATUS_TTL_S:
            self._running = await asyncio.to_thread(self._count_running)
            self._checked_at = time.monotonic()
        if self._running >= self.min_replicas:
            return None
        return f"{self._running} of {self.min_replicas} replicas warm"

    def _count_running(self) -> int:
        try:
            application = serve.status().applications.get(self.app_name)
        except Exception as exc:  # boundary: the controller is unreachable, so the fleet is not ready
            _LOGGER.warning("cannot read the fleet status: %s", exc)
            return 0
        deployment = application.deployments.get(self.deployment) if application else None
        if deployment is None:
            return 0
        return sum(n for state, n in deployment.replica_states.items() if state == ReplicaState.RUNNING)


@serve.deployment(name=DEPLOYMENT_NAME)
@serve.ingress()
class GlmttsReplica:
    """The Serve deployment; ``settings`` and ``fleet`` are plain JSON values (see :func:`replica_args`)."""

    def __init__(self, settings: dict[str, Any], fleet: dict[str, Any]) -> None:
        self.settings = ServeSettings(**settings)
        self.fleet = FleetSettings.from_mapping(fleet)
        context = serve.get_replica_context()
        self.replica = context.replica_tag
        self.services = build_services(self.settings)
        self.services.begin_load()
        self.services.ready_gates.append(
            FleetReadiness(context.app_name, context.deployment, self.fleet.min_replicas)
        )
        self.web_app = create_app(self.settings, services=self.services, warm_before_serving=True)
        self.web_app.add_middleware(ReplicaMiddleware, replica=self.replica, services=self.services)
        _LOGGER.info("replica %s built; loading engine %s", self.replica, self.settings.engine)

    def __serve_build_asgi_app__(self) -> ASGIApp:
        return self.web_app

    async def check_health(self) -> None:
        """Raise unless the model thread is alive and, when idle, runs a no-op task in time."""
        runtime = self.services.runtime
        if self.services.lifecycle.failure is not None:
            raise RuntimeError(f"engine failed: {self.services.lifecycle.failure}")
        if not runtime.worker.alive:
            raise RuntimeError("the model thread is not running")
        if runtime.worker.busy or runtime.worker.depth():
            return  # busy with requests: progress is visible there
        timeout_s = self.fleet.health_check_timeout_s / 2
        await asyncio.wait_for(asyncio.wrap_future(runtime.worker.submit(lambda _engine: None)), timeout_s)


def replica_args(settings: ServeSettings, fleet: FleetSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The constructor arguments of :class:`GlmttsReplica` as plain JSON values (no UI in a fleet)."""
    values = settings.model_dump(mode="json")
    values.update(ui=False, no_ui=True)
    return values, fleet.to_json()
