"""The FastAPI application factory: ``create_app(settings)``.

Routers: probes (``/health``, ``/ready``, ``/metrics``) and ``/v1/*`` (behind the optional API key):
status and models, speech, voices, pronunciations + admin, batch jobs. A WebUI is mounted at ``/ui`` when
``settings.ui`` is on (and ``no_ui`` off) and the caller passes its factory
(``ui_factory(services) -> gradio.Blocks``; ``glmtts serve`` passes :func:`glmtts.ui.app.build_ui`, which
sits above this layer); ``/`` then redirects to ``/ui``.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import RedirectResponse

from glmtts import __version__
from glmtts.serving.api import admin, health, jobs, speech, voices
from glmtts.serving.api.deps import require_api_key
from glmtts.serving.api.errors import install_error_handlers
from glmtts.serving.api.middleware import ObserveRequests
from glmtts.serving.api.warmup_http import http_warmup
from glmtts.serving.composition import Services, build_services
from glmtts.serving.settings import ServeSettings

_LOGGER = logging.getLogger(__name__)

UiFactory = Callable[[Services], Any]


def create_app(
    settings: ServeSettings | None = None,
    ui_factory: UiFactory | None = None,
    services: Services | None = None,
    *,
    warm_before_serving: bool = False,
) -> FastAPI:
    """Build the app; the engine loads and warms up in the background once the app starts.

    ``warm_before_serving``: the app's start-up (ASGI lifespan) returns only once the engine is loaded and
    warm (a Ray replica: RUNNING then means warm); ``glmtts serve`` answers ``/health`` during the load.
    """
    settings = settings or ServeSettings()
    services = services or build_services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await services.start()
        if warm_before_serving:
            await services.wait_started()
        try:
            yield
        finally:
            await services.stop()

    app = FastAPI(title="glmtts", version=__version__, lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(ObserveRequests, metrics=services.metrics, max_body_bytes=settings.max_upload_bytes)
    app.include_router(health.build_probe_router())
    api_key = [Depends(require_api_key)]
    for router in (
        health.build_status_router(),
        speech.build_router(),
        voices.build_router(),
        admin.build_router(),
        jobs.build_router(services),
    ):
        app.include_router(router, dependencies=api_key)
    if settings.ui_enabled and ui_factory is not None:
        _mount_ui(app, services, ui_factory)
    services.http_warmup = http_warmup(
        app, services.warmup_token, settings.warmup_rounds, lambda: services.runtime.host.sample_rate
    )
    return app


def _mount_ui(app: FastAPI, services: Services, factory: UiFactory) -> None:
    import gradio

    settings = services.settings
    gradio.mount_gradio_app(
        app,
        factory(services),
        path="/ui",
        auth=_ui_login(settings.api_key) if settings.api_key else None,
        auth_message="This server needs its API key: any user name, the API key as the password.",
        max_file_size=settings.max_upload_bytes,
    )

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/ui")


def _ui_login(api_key: str) -> Callable[[str, str], bool]:
    """Gradio login check: with an API key set, the WebUI asks for it as the password."""
    expected = api_key.encode()

    def check(_username: str, password: str) -> bool:
        return hmac.compare_digest(password.encode(), expected)

    return check
