"""Speech routes: OpenAI-compatible ``POST /v1/audio/speech`` and native multipart ``POST /v1/tts``.

Each route decodes its input once into a :class:`~glmtts.synthesis.SynthesisRequest` (the service's
decoder: the same defaults and limits as every other front end) and answers with the encoded audio:
whole, as a chunked stream, or as SSE events.

Captions: ``"timestamps": "segment" | "word"`` makes a whole response JSON: ``{"audio": <base64>,
"format", "sample_rate", "timestamps", "warnings", "segments": [{"text", "char_start", "char_end",
"start", "end", "words": [...]}]}`` (seconds; character offsets into the request text). With
``stream_format: "sse"`` a ``speech.timestamps`` event with the segments that just ended follows the
audio delta of the chunk they ended in. ``response_format: "srt" | "vtt"`` answers the captions alone
(whole or streamed). An engine that cannot time words answers ``"word"`` with segment timing and says so:
the JSON's ``timestamps`` is ``"segment"`` and ``warnings`` explains; every response with captions also
has the headers ``X-Timestamps`` (the level served) and, when there are any, ``X-Warnings``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from glmtts.audio.captions import segment_json
from glmtts.engines.base import CancelToken
from glmtts.errors import InvalidAudioError, InvalidOptionError, PayloadTooLargeError
from glmtts.serving.api.deps import get_services, require_content_type, require_ready, run_cancellable
from glmtts.serving.api.schemas import SpeechBody
from glmtts.serving.composition import Services
from glmtts.synthesis import Synthesis, SynthesisRequest, SynthesisStream, parse_bool
from glmtts.synthesis.stream import EncodedPiece
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
        **_caption_headers(result.timestamps, result.warnings),
    }
    if result.timestamps == "none" or speech.audio_format.is_captions:
        return Response(audio, media_type=speech.audio_format.media_type, headers=headers)
    document = {
        "audio": base64.b64encode(audio).decode("ascii"),
        "format": speech.audio_format.value,
        "sample_rate": result.sample_rate,
        "timestamps": result.timestamps,
        "warnings": list(result.warnings),
        "segments": [segment_json(segment) for segment in result.captions],
    }
    return JSONResponse(document, headers=headers)


def _caption_headers(timestamps: str, warnings: tuple[str, ...]) -> dict[str, str]:
    if timestamps == "none":
        return {}
    headers = {"X-Timestamps": timestamps}
    if warnings:
        headers["X-Warnings"] = "; ".join(warnings)
    return headers


async def _stream_response(services: Services, speech: SynthesisRequest, sse: bool) -> Response:
    """Start streaming; the first bytes are awaited here so early errors still get a 4xx response."""
    stream = services.service.run(speech)
    pieces = stream.apieces(speech.audio_format).__aiter__()
    try:
        first: EncodedPiece | None = await pieces.__anext__()
    except StopAsyncIteration:
        first = None
    except BaseException:
        stream.cancel()
        raise
    body = _sse_events(first, pieces, stream) if sse else _bytes_then(first, pieces, stream)
    media_type = "text/event-stream" if sse else speech.audio_format.media_type
    headers = {
        "X-Request-Id": speech.request_id,
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
    }
    if sse or speech.audio_format.is_captions:  # a plain audio stream has no room for the captions
        headers.update(_caption_headers(stream.timestamps, stream.warnings))
    return StreamingResponse(body, media_type=media_type, headers=headers)


async def _pieces_then(
    first: EncodedPiece | None, rest: AsyncIterator[EncodedPiece], stream: SynthesisStream
) -> AsyncIterator[EncodedPiece]:
    """The first piece, then the rest; a client disconnect closes this generator and cancels synthesis."""
    try:
        if first is not None:
            yield first
        async for piece in rest:
            yield piece
    finally:
        stream.cancel()


async def _bytes_then(
    first: EncodedPiece | None, rest: AsyncIterator[EncodedPiece], stream: SynthesisStream
) -> AsyncIterator[bytes]:
    async for piece in _pieces_then(first, rest, stream):
        if piece.data:
            yield piece.data


def _sse(event: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode()


async def _sse_events(
    first: EncodedPiece | None, rest: AsyncIterator[EncodedPiece], stream: SynthesisStream
) -> AsyncIterator[bytes]:
    """``speech.audio.delta`` events, each followed by ``speech.timestamps`` for the segments that ended
    in its chunk; ``speech.audio.done`` (with the timing level and warnings when captions were asked)."""
    async for piece in _pieces_then(first, rest, stream):
        if piece.data:
            yield _sse({"type": "speech.audio.delta", "audio": base64.b64encode(piece.data).decode("ascii")})
        if piece.captions:
            yield _sse({"type": "speech.timestamps", "segments": [segment_json(s) for s in piece.captions]})
    done: dict[str, Any] = {"type": "speech.audio.done"}
    if stream.timestamps != "none":
        done.update(timestamps=stream.timestamps, warnings=list(stream.warnings))
    yield _sse(done)


def _request_id(request: Request) -> str:
    return request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex[:12]
