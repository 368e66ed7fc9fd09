"""Pronunciation dictionary and memory control: ``/v1/pronunciations``, ``/v1/admin/*``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from glmtts.errors import PronunciationDictError
from glmtts.serving.api.deps import get_services, require_content_type

JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines", "text/plain")
MAX_DICTIONARY_BYTES = 16 * 1024 * 1024


def build_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route("/v1/pronunciations", get_pronunciations, methods=["GET"])
    router.add_api_route("/v1/pronunciations", put_pronunciations, methods=["PUT"])
    router.add_api_route("/v1/admin/release-memory", release_memory, methods=["POST"])
    router.add_api_route("/v1/admin/sleep", sleep, methods=["POST"])
    router.add_api_route("/v1/admin/wake", wake, methods=["POST"])
    return router


async def get_pronunciations(request: Request) -> PlainTextResponse:
    """The dictionary as upstream ``G2P_replace_dict.jsonl`` lines."""
    text = get_services(request).pronunciations.text()
    return PlainTextResponse(text, media_type="application/x-ndjson")


async def put_pronunciations(request: Request) -> dict[str, Any]:
    """Replace the dictionary: JSONL lines, or JSON (one ``{source: replacement}`` object or a list of them)."""
    media_type = require_content_type(request, "application/json", *JSONL_TYPES)
    raw = await request.body()
    if len(raw) > MAX_DICTIONARY_BYTES:
        raise PronunciationDictError(f"the dictionary is limited to {MAX_DICTIONARY_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PronunciationDictError("the dictionary must be UTF-8 text") from None
    if media_type == "application/json":
        text = _json_to_jsonl(text)
    services = get_services(request)
    entries = services.pronunciations.replace(text)
    await asyncio.wrap_future(services.service.set_pronunciations(entries))
    return {"n_entries": len(entries)}


def _json_to_jsonl(text: str) -> str:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PronunciationDictError(f"body is not JSON: {exc.msg}") from None
    items = data if isinstance(data, list) else [data]
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


async def release_memory(request: Request) -> dict[str, Any]:
    """Free rebuildable caches (engine caches, the voice cache); report bytes before and after."""
    return await get_services(request).memory.release()


async def sleep(request: Request) -> dict[str, Any]:
    """Park weights in host memory and free device memory; ``/ready`` is 503 until wake."""
    return await get_services(request).memory.sleep()


async def wake(request: Request) -> dict[str, Any]:
    return await get_services(request).memory.wake()
