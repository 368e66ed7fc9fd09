"""Voices library routes: ``GET/POST /v1/voices``, ``GET/DELETE /v1/voices/{voice}``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile

from glmtts.errors import InvalidAudioError, NotFoundError, UnknownVoiceError
from glmtts.serving.api.deps import get_services, require_content_type, require_ready
from glmtts.serving.api.options import parse_bool
from glmtts.serving.api.speech import read_upload
from glmtts.serving.requests import OPENAI_VOICES
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
    info = services.tts.engine_info
    builtins = list(info.builtin_voices) if info else []
    aliases = {name: builtins[i % len(builtins)] for i, name in enumerate(OPENAI_VOICES)} if builtins else {}
    return {
        "stored": [record.to_json() for record in services.voices.list()],
        "builtin": builtins,
        "openai_aliases": aliases,
    }


def _record(request: Request, voice: str) -> VoiceRecord:
    try:
        return get_services(request).voices.record(voice)
    except UnknownVoiceError:
        raise NotFoundError(f"no stored voice named {voice[:80]!r}") from None


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
        if not isinstance(upload, UploadFile):
            raise InvalidAudioError("send the prompt clip as a file field named 'audio'")
        data = await read_upload(services, upload, "audio")
        text_field = form.get("text") or form.get("prompt_text")
        replace = parse_bool("replace", form.get("replace") or False)
    text = text_field if isinstance(text_field, str) else None
    clip = await asyncio.to_thread(services.tts.decode_prompt, data, text, "audio")

    def add_on_worker(engine: Any) -> VoiceRecord:
        return services.voices.add(
            name, clip.samples, clip.sample_rate, clip.prompt_text, engine.prepare_voice, replace
        )

    record = await asyncio.wrap_future(
        services.worker.submit(add_on_worker, timeout_s=services.settings.request_timeout_s)
    )
    return record.to_json()
