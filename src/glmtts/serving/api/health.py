"""Probes and observability: ``/health``, ``/ready``, ``/v1/status``, ``/metrics``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from glmtts.serving.api.deps import get_services


def build_probe_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route("/health", health, methods=["GET"])
    router.add_api_route("/ready", ready, methods=["GET"])
    router.add_api_route("/metrics", metrics, methods=["GET"])
    return router


def build_status_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route("/v1/status", status, methods=["GET"])
    return router


async def health() -> dict[str, str]:
    """Liveness: 200 while the process runs."""
    return {"status": "ok"}


async def ready(request: Request) -> JSONResponse:
    """Readiness: 200 only after load and warm-up; 503 with the phase before (and while sleeping/draining)."""
    services = get_services(request)
    phase = services.lifecycle.phase.value
    is_ready = services.lifecycle.ready or (services.settings.lazy and phase == "init")
    body: dict[str, Any] = {"ready": is_ready, "phase": phase}
    if services.lifecycle.failure is not None:
        body["error"] = services.lifecycle.snapshot()["error"]
    return JSONResponse(body, status_code=200 if is_ready else 503, headers={"Cache-Control": "no-store"})


async def status(request: Request) -> dict[str, Any]:
    return get_services(request).status()


async def metrics(request: Request) -> Response:
    registry = get_services(request).metrics
    return Response(registry.render(), media_type=registry.content_type)
