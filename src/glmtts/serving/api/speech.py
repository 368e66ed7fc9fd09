"""Speech routes: OpenAI-compatible ``POST /v1/audio/speech`` and native multipart ``POST /v1/tts``.

Each route decodes its input once into a :class:`~glmtts.synthesis.SynthesisRequest` (the service's
decoder: the same defaults and limits as every other front end) and answers with the encoded audio:
whole, as a chunked stream, or as SSE events.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from glmtts.engines.base import CancelToken
from glmtts.errors import InvalidAudioError, InvalidOptionError, PayloadTooLargeError
from glmtts.serving.api.deps import get_services, require_content_type, require_ready, run_cancellable
from glmtts.serving.api.schemas import SpeechBody
from glmtts.serving.composition import Services
from glmtts.synthesis import Synthesis, SynthesisRequest, parse_bool
from glmtts.voices import PromptClip

MAX_FORM_FIELDS = 40


def build_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route(
        "/v1/audio/speech", openai_speech, methods=["POST"], dependencies=[Depends(require_ready)]
    )
    router.add_api_route("/v1/tts", native_tts, methods=["POST"], dependencies=[Depends(require_ready)])
    return router


async def openai_speech(request: Request) -> Response:
    """OpenAI ``audio.speech.create``: JSON in, audio out (whole, chunked stream, or SSE events)."""
    services = get_services(request)
    require_content_type(request, "application/json")
    body = await _json_body(request)
    sse = body.stream_format == "sse"
    fields = {**body.model_dump(), "text": body.input, "format": body.response_format}
    speech = services.service.decoder.decode(
        fields, stream=body.stream or sse, request_id=_request_id(request), route="/v1/audio/speech"
    )
    if speech.options.stream:
        return await _stream_response(services, speech, sse=sse)
    return await _whole_response(request, services, speech)


async def _json_body(request: Request) -> SpeechBody:
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidOptionError(f"request body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidOptionError("request body must be a JSON object")
    try:
        return SpeechBody.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidOptionError(f"{where or 'body'}: {first.get('msg', 'invalid value')}") from None


async def native_tts(request: Request) -> Response:
    """Native multipart synthesis: ``text``, ``voice`` or ``prompt_audio`` + ``prompt_text``, options."""
    services = get_services(request)
    require_content_type(request, "multipart/form-data", "application/x-www-form-urlencoded")
    async with request.form(max_files=2, max_fields=MAX_FORM_FIELDS) as form:
        fields = _plain_fields(form)
        clip = await _prompt_from_form(services, form)
    streamed = parse_bool("stream", fields.get("stream", False))
    speech = services.service.decoder.decode(
        fields, clip=clip, stream=streamed, request_id=_request_id(request), route="/v1/tts"
    )
    if streamed:
        return await _stream_response(services, speech, sse=False)
    return await _whole_response(request, services, speech)


def _plain_fields(form: FormData) -> dict[str, Any]:
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


async def read_upload(services: Services, upload: UploadFile, field: str) -> bytes:
    """Read an uploaded file, refusing it (413) beyond the size limit."""
    limit = services.service.decoder.limits.max_upload_bytes
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLargeError(f"{field} is {upload.size} bytes; at most {limit} are accepted")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"{field} is larger than {limit} bytes")
    return data


async def read_clip(services: Services, upload: Any, text: Any, field: str) -> PromptClip:
    """An uploaded prompt clip, decoded and validated off the event loop."""
    if not isinstance(upload, UploadFile):
        raise InvalidAudioError(f"{field} must be an uploaded file (multipart/form-data)")
    data = await read_upload(services, upload, field)
    return await asyncio.to_thread(services.service.decoder.prompt, data, text, field)


async def _prompt_from_form(services: Services, form: FormData) -> PromptClip | None:
    upload = form.get("prompt_audio")
    if upload is None or upload == "":
        if form.get("prompt_text"):
            raise InvalidOptionError("prompt_text was given without prompt_audio")
        return None
    return await read_clip(services, upload, form.get("prompt_text"), "prompt_audio")


async def _whole_response(request: Request, services: Services, speech: SynthesisRequest) -> Response:
    async def synthesize(token: CancelToken) -> Synthesis:
        return await services.service.run(speech, cancel=token).acollect()

    result = await run_cancellable(request, synthesize)
    audio = await asyncio.to_thread(result.encode, speech.audio_format)
    timings = result.summary.timings
    headers = {
        "X-Request-Id": speech.request_id,
        "X-Audio-Duration-S": f"{result.duration_s:.3f}",
        "X-Time-To-First-Audio-S": f"{timings.first_audio_s:.4f}",
        "X-Queue-Wait-S": f"{timings.queue_wait_s:.4f}",
        "X-Voice-S": f"{timings.voice_s:.4f}",
        "X-Voice-Cached": "true" if timings.voice_cached else "false",
        "X-Synthesis-S": f"{timings.synth_s:.4f}",
    }
    return Response(audio, media_type=speech.audio_format.media_type, headers=headers)


async def _stream_response(services: Services, speech: SynthesisRequest, sse: bool) -> Response:
    """Start streaming; the first bytes are awaited here so early errors still get a 4xx response."""
    stream = services.service.run(speech)
    chunks = stream.aencoded(speech.audio_format).__aiter__()
    try:
        first = await chunks.__anext__()
    except StopAsyncIteration:
        first = b""
    except BaseException:
        stream.cancel()
        raise
    body = _sse_events(first, chunks, stream.cancel) if sse else _bytes_then(first, chunks, stream.cancel)
    media_type = "text/event-stream" if sse else speech.audio_format.media_type
    headers = {"X-Request-Id": speech.request_id, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type=media_type, headers=headers)


async def _bytes_then(first: bytes, rest: AsyncIterator[bytes], cancel: Any) -> AsyncIterator[bytes]:
    """Send the first bytes, then the rest; a client disconnect closes this generator and cancels synthesis."""
    try:
        if first:
            yield first
        async for data in rest:
            yield data
    finally:
        cancel()


async def _sse_events(first: bytes, rest: AsyncIterator[bytes], cancel: Any) -> AsyncIterator[bytes]:
    async for data in _bytes_then(first, rest, cancel):
        event = {"type": "speech.audio.delta", "audio": base64.b64encode(data).decode("ascii")}
        yield f"data: {json.dumps(event)}\n\n".encode()
    yield b'data: {"type": "speech.audio.done"}\n\n'


def _request_id(request: Request) -> str:
    return request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex[:12]
