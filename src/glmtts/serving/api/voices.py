"""Voices library routes: ``GET/POST /v1/voices``, ``GET/DELETE /v1/voices/{voice}``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request

from glmtts.errors import NotFoundError
from glmtts.serving.api.deps import get_services, require_content_type, require_ready
from glmtts.serving.api.speech import read_clip
from glmtts.synthesis import parse_bool
from glmtts.voices import VoiceRecord, validate_voice_name


def build_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route("/v1/voices", list_voices, methods=["GET"])
    router.add_api_route(
        "/v1/voices", add_voice, methods=["POST"], status_code=201, dependencies=[Depends(require_ready)]
    )
    router.add_api_route("/v1/voices/{voice}", get_voice, methods=["GET"])
    router.add_api_route("/v1/voices/{voice}", delete_voice, methods=["DELETE"])
    return router


async def list_voices(request: Request) -> dict[str, Any]:
    """Stored voices, built-in voices and how OpenAI names map onto them."""
    services = get_services(request)
    builtins = services.runtime.host.builtin_voices()
    return {
        "stored": [record.to_json() for record in services.voices.store.list()],
        "builtin": list(builtins),
        "openai_aliases": services.voices.openai_aliases(builtins),
    }


def _record(request: Request, voice: str) -> VoiceRecord:
    record = get_services(request).voices.store.find(voice)
    if record is None:
        raise NotFoundError(f"no stored voice named {voice[:80]!r}")
    return record


async def get_voice(request: Request, voice: str) -> dict[str, Any]:
    return _record(request, voice).to_json()


async def delete_voice(request: Request, voice: str) -> dict[str, Any]:
    record = _record(request, voice)
    get_services(request).voices.remove(record.voice_id)
    return {"deleted": record.to_json()}


async def add_voice(request: Request) -> dict[str, Any]:
    """Multipart ``name`` + ``audio`` file (+ ``text`` transcript, ``replace``): extract and store features."""
    services = get_services(request)
    require_content_type(request, "multipart/form-data")
    async with request.form(max_files=2, max_fields=10) as form:
        name = validate_voice_name(str(form.get("name") or ""))
        upload = form.get("audio") or form.get("prompt_audio")
        text = form.get("text") or form.get("prompt_text")
        replace = parse_bool("replace", form.get("replace") or False)
        clip = await read_clip(services, upload, text, "audio")
    record = await asyncio.wrap_future(services.service.add_voice(name, clip, replace))
    return record.to_json()
