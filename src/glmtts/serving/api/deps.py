"""Request dependencies: the services object, the API key check and the readiness gate."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request

from glmtts.engines.base import CancelToken
from glmtts.errors import UnauthorizedError, UnsupportedMediaError
from glmtts.serving.composition import Services

#: Header carrying the per-process warm-up token (see :mod:`glmtts.serving.api.warmup_http`).
WARMUP_HEADER = "x-glmtts-warmup"

T = TypeVar("T")
DISCONNECT_POLL_S = 0.25


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def require_api_key(request: Request) -> None:
    """With ``settings.api_key`` set, every ``/v1/*`` request needs ``Authorization: Bearer KEY``."""
    expected = get_services(request).settings.api_key
    if not expected:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise UnauthorizedError("missing or wrong API key; send 'Authorization: Bearer <key>'")


async def require_ready(request: Request) -> None:
    """Refuse with 503 until the server is ready (a lazy server loads on the first request's task)."""
    services = get_services(request)
    warmup = request.headers.get(WARMUP_HEADER)
    if warmup is not None and hmac.compare_digest(warmup.encode(), services.warmup_token.encode()):
        return
    services.runtime.host.check_ready()


def require_content_type(request: Request, *accepted: str) -> str:
    """Return the request's media type if it is one of ``accepted``, else raise 415."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in accepted:
        raise UnsupportedMediaError(
            f"content type {media_type or '(none)'!r} is not accepted here; send {' or '.join(accepted)}"
        )
    return media_type


async def run_cancellable(request: Request, start: Callable[[CancelToken], Awaitable[T]]) -> T:
    """Await ``start(token)``; cancel the token if the client disconnects first."""
    token = CancelToken()
    work = asyncio.ensure_future(start(token))
    try:
        while True:
            done, _ = await asyncio.wait({work}, timeout=DISCONNECT_POLL_S)
            if done:
                return work.result()
            if await request.is_disconnected():
                token.cancel()
                return await work
    finally:
        if not work.done():
            token.cancel()
            work.cancel()
