"""ASGI middleware: request metrics by route and status, and an early request-size limit."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from glmtts.errors import PayloadTooLargeError
from glmtts.serving.api.errors import error_response
from glmtts.serving.metrics import ServingMetrics

#: Room for multipart boundaries and text fields on top of the upload limit.
FORM_OVERHEAD_BYTES = 256 * 1024


class ObserveRequests:
    """Counts requests by route template, method and status; observes latency until the last byte."""

    def __init__(self, app: ASGIApp, metrics: ServingMetrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes + FORM_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status_holder = {"status": 500}

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = int(message["status"])
            await send(message)

        try:
            if self._too_large(scope):
                response = error_response(
                    PayloadTooLargeError(f"request body is larger than {self.max_body_bytes} bytes")
                )
                await response(scope, receive, send_observed)
            else:
                await self.app(scope, receive, send_observed)
        finally:
            self.metrics.observe_request(
                _route_label(scope),
                scope.get("method", ""),
                status_holder["status"],
                time.monotonic() - started,
            )

    def _too_large(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    return int(value) > self.max_body_bytes
                except ValueError:
                    return False
        return False


def _route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    raw = str(scope.get("path", ""))
    return "/ui" if raw.startswith("/ui") else "unmatched"
