"""The one place typed errors become HTTP responses: ``{"error": {"type", "message"}}``.

Input errors map to 4xx by class, overload to 429 with ``Retry-After``, not-ready to 503, timeouts to 504;
anything unexpected is logged once with its traceback and answered with a 500.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from glmtts import errors

_LOGGER = logging.getLogger(__name__)

#: Most specific class first; the first isinstance match wins.
_STATUS_BY_ERROR: tuple[tuple[type[errors.GlmttsError], int], ...] = (
    (errors.UnauthorizedError, 401),
    (errors.NotFoundError, 404),
    (errors.ConflictError, 409),
    (errors.PayloadTooLargeError, 413),
    (errors.TextTooLongError, 413),
    (errors.UnsupportedMediaError, 415),
    (errors.InvalidAudioError, 422),
    (errors.InvalidOptionError, 422),
    (errors.PronunciationDictError, 422),
    (errors.InputError, 400),
    (errors.OverloadedError, 429),
    (errors.NotReadyError, 503),
    (errors.RequestTimeoutError, 504),
    (errors.CancelledError, 499),
)


def status_for(exc: errors.GlmttsError) -> int:
    """HTTP status of a typed error."""
    for error_class, status in _STATUS_BY_ERROR:
        if isinstance(exc, error_class):
            return status
    return 500


def error_body(error_type: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": error_type, "message": message}, **extra}


def error_response(exc: errors.GlmttsError, phase: str | None = None) -> JSONResponse:
    """The JSON response for a typed error (with ``Retry-After`` for overload)."""
    status = status_for(exc)
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, errors.OverloadedError):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
    if isinstance(exc, errors.NotReadyError) and phase is not None:
        extra["phase"] = phase
        headers["Retry-After"] = "1"
    if isinstance(exc, errors.UnauthorizedError):
        headers["WWW-Authenticate"] = "Bearer"
    if status >= 500 and status != 503:
        _LOGGER.error("%s: %s", type(exc).__name__, exc.message)
    return JSONResponse(error_body(exc.error_type, exc.message, **extra), status_code=status, headers=headers)


def _phase_of(request: Request) -> str | None:
    services = getattr(request.app.state, "services", None)
    return None if services is None else services.lifecycle.phase.value


async def _handle_glmtts_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.GlmttsError)
    return error_response(exc, _phase_of(request))


async def _handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for item in exc.errors()[:5]:
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        problems.append(f"{location or 'body'}: {item.get('msg', 'invalid')}")
    return JSONResponse(
        error_body("invalid_request", "; ".join(problems) or "invalid request"), status_code=422
    )


async def _handle_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error_type = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(error_type, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    _LOGGER.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        error_body("internal_error", f"internal error: {type(exc).__name__}"), status_code=500
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(errors.GlmttsError, _handle_glmtts_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_error)
    app.add_exception_handler(Exception, _handle_unexpected)
