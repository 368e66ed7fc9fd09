"""Speech routes: OpenAI-compatible ``POST /v1/audio/speech`` and native multipart ``POST /v1/tts``."""

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

from glmtts.errors import InvalidAudioError, InvalidOptionError, InvalidTextError, PayloadTooLargeError
from glmtts.serving.api.deps import get_services, require_content_type, require_ready, run_cancellable
from glmtts.serving.api.options import build_format, build_options, parse_bool
from glmtts.serving.api.schemas import SpeechBody
from glmtts.serving.requests import PromptClip, SpeechRequest
from glmtts.serving.service import AudioStream
from glmtts.serving.services import Services

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
    if not isinstance(body.input, str):
        raise InvalidTextError("input must be a string")
    settings = services.settings
    speech = SpeechRequest(
        text=services.tts.check_text(body.input),
        voice=body.voice,
        options=build_options(body.model_dump(), settings.seed, settings.max_text_chars),
        audio_format=build_format(body.response_format),
        request_id=_request_id(request),
        route="/v1/audio/speech",
    )
    if body.stream or body.stream_format == "sse":
        return await _stream_response(services, speech, sse=body.stream_format == "sse")
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
        prompt = await _prompt_from_form(services, form)
        settings = services.settings
        speech = SpeechRequest(
            text=services.tts.check_text(fields.get("text", "")),
            voice=fields.get("voice") or None,
            prompt=prompt,
            options=build_options(fields, settings.seed, settings.max_text_chars),
            audio_format=build_format(fields.get("format", "wav")),
            request_id=_request_id(request),
            route="/v1/tts",
        )
    if parse_bool("stream", fields.get("stream", False)):
        return await _stream_response(services, speech, sse=False)
    return await _whole_response(request, services, speech)


def _plain_fields(form: FormData) -> dict[str, Any]:
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


async def read_upload(services: Services, upload: UploadFile, field: str) -> bytes:
    """Read an uploaded file, refusing it (413) beyond the size limit."""
    limit = services.settings.max_upload_bytes
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLargeError(f"{field} is {upload.size} bytes; at most {limit} are accepted")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"{field} is larger than {limit} bytes")
    return data


async def _prompt_from_form(services: Services, form: FormData) -> PromptClip | None:
    upload = form.get("prompt_audio")
    if upload is None or upload == "":
        if form.get("prompt_text"):
            raise InvalidOptionError("prompt_text was given without prompt_audio")
        return None
    if not isinstance(upload, UploadFile):
        raise InvalidAudioError("prompt_audio must be an uploaded file (multipart/form-data)")
    data = await read_upload(services, upload, "prompt_audio")
    prompt_text = form.get("prompt_text")
    text = prompt_text if isinstance(prompt_text, str) else None
    return await asyncio.to_thread(services.tts.decode_prompt, data, text, "prompt_audio")


async def _whole_response(request: Request, services: Services, speech: SpeechRequest) -> Response:
    result = await run_cancellable(request, lambda token: services.tts.synthesize(speech, cancel=token))
    timings = result.timings
    headers = {
        "X-Request-Id": speech.request_id,
        "X-Audio-Duration-S": f"{result.duration_s:.3f}",
        "X-Time-To-First-Audio-S": f"{timings.first_audio_s:.4f}",
        "X-Queue-Wait-S": f"{timings.queue_wait_s:.4f}",
        "X-Voice-S": f"{timings.voice_s:.4f}",
        "X-Voice-Cached": "true" if timings.voice_cached else "false",
        "X-Synthesis-S": f"{timings.synth_s:.4f}",
    }
    return Response(result.audio, media_type=result.media_type, headers=headers)


async def _stream_response(services: Services, speech: SpeechRequest, sse: bool) -> Response:
    """Start streaming; the first chunk is awaited here so early errors still get a 4xx response."""
    stream = services.tts.open_stream(speech)
    chunks = stream.__aiter__()
    try:
        first = await chunks.__anext__()
    except StopAsyncIteration:
        first = b""
    except BaseException:
        stream.cancel()
        raise
    body = _sse_events(first, chunks, stream) if sse else _bytes_then(first, chunks, stream)
    media_type = "text/event-stream" if sse else speech.audio_format.media_type
    headers = {"X-Request-Id": speech.request_id, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type=media_type, headers=headers)


async def _bytes_then(first: bytes, rest: AsyncIterator[bytes], stream: AudioStream) -> AsyncIterator[bytes]:
    """Send the first chunk, then the rest; a client disconnect closes this generator and cancels synthesis."""
    try:
        if first:
            yield first
        async for data in rest:
            yield data
    finally:
        stream.cancel()


async def _sse_events(first: bytes, rest: AsyncIterator[bytes], stream: AudioStream) -> AsyncIterator[bytes]:
    async for data in _bytes_then(first, rest, stream):
        event = {"type": "speech.audio.delta", "audio": base64.b64encode(data).decode("ascii")}
        yield f"data: {json.dumps(event)}\n\n".encode()
    yield b'data: {"type": "speech.audio.done"}\n\n'


def _request_id(request: Request) -> str:
    return request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex[:12]
