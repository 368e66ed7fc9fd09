"""Probes and observability: ``/health``, ``/ready``, ``/v1/status``, ``/v1/models``, ``/metrics``.

``GET /v1/models`` lists what a client may put in ``model`` (OpenAI's model list): ``glmtts``, the engine's
own name and OpenAI's TTS model names; every id runs the server's one engine.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from glmtts.errors import NotFoundError
from glmtts.serving.api.deps import get_services

#: OpenAI's speech model names, accepted as aliases of the server's engine.
OPENAI_TTS_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")


def build_probe_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route("/health", health, methods=["GET"])
    router.add_api_route("/ready", ready, methods=["GET"])
    router.add_api_route("/metrics", metrics, methods=["GET"])
    return router


def build_status_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route("/v1/status", status, methods=["GET"])
    router.add_api_route("/v1/models", list_models, methods=["GET"])
    router.add_api_route("/v1/models/{model_id}", get_model, methods=["GET"])
    return router


async def health() -> dict[str, str]:
    """Liveness: 200 while the process runs."""
    return {"status": "ok"}


async def ready(request: Request) -> JSONResponse:
    """Readiness: 200 only after load and warm-up (and every extra gate, e.g. a fleet's minimum of warm
    replicas); 503 with the phase before (and while sleeping/draining)."""
    services = get_services(request)
    phase = services.lifecycle.phase.value
    is_ready = services.runtime.host.ready_for_requests
    body: dict[str, Any] = {"ready": is_ready, "phase": phase}
    for gate in services.ready_gates if is_ready else ():
        reason = await gate()
        if reason is not None:
            is_ready = False
            body.update(ready=False, waiting_for=reason)
            break
    if services.lifecycle.failure is not None:
        body["error"] = services.lifecycle.snapshot()["error"]
    return JSONResponse(body, status_code=200 if is_ready else 503, headers={"Cache-Control": "no-store"})


async def status(request: Request) -> dict[str, Any]:
    return get_services(request).status()


async def metrics(request: Request) -> Response:
    registry = get_services(request).metrics
    return Response(registry.render(), media_type=registry.content_type)


def _models(request: Request) -> list[dict[str, Any]]:
    services = get_services(request)
    engine = services.settings.engine
    started = int(services.lifecycle.started_at)
    info = services.runtime.host.info
    capabilities = info.capabilities.to_json() if info else None
    ids = dict.fromkeys(("glmtts", engine, *OPENAI_TTS_MODELS))
    return [
        {"id": model_id, "object": "model", "created": started, "owned_by": "glmtts", "engine": engine,
         "capabilities": capabilities}
        for model_id in ids
    ]  # fmt: skip


async def list_models(request: Request) -> dict[str, Any]:
    """OpenAI ``models.list``: the ids ``POST /v1/audio/speech`` accepts as ``model``."""
    return {"object": "list", "data": _models(request)}


async def get_model(request: Request, model_id: str) -> dict[str, Any]:
    """OpenAI ``models.retrieve``."""
    for model in _models(request):
        if model["id"] == model_id:
            return model
    raise NotFoundError(f"no model {model_id[:80]!r}; GET /v1/models lists them")
