"""Build the WebUI (a ``gradio.Blocks``) over a server's services.

``build_ui(services)`` is the factory :func:`glmtts.serving.api.app.create_app` mounts at ``/ui``. Each tab
lives in its own module and calls the same services as the HTTP API: one engine, one model worker.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from glmtts.ui.context import Refresh, UiContext

if TYPE_CHECKING:
    import gradio

    from glmtts.serving.composition import Services

_LOGGER = logging.getLogger(__name__)

TITLE = "glmtts"


def _tabs() -> list[tuple[str, Callable[[UiContext], list[Refresh]]]]:
    from glmtts.ui.batch import build_batch_tab
    from glmtts.ui.pronunciation import build_pronunciation_tab
    from glmtts.ui.synthesize import build_synthesize_tab
    from glmtts.ui.system import build_system_tab
    from glmtts.ui.voices import build_voices_tab

    return [
        ("Synthesize", build_synthesize_tab),
        ("Voices", build_voices_tab),
        ("Batch", build_batch_tab),
        ("Pronunciation", build_pronunciation_tab),
        ("System", build_system_tab),
    ]


def _header(context: UiContext) -> str:
    settings = context.services.settings
    return (
        f"## glmtts · always-warm text to speech\n"
        f"Engine **{settings.engine}** on **{settings.device}** · HTTP API at `/v1` · "
        f"[API docs](/docs) · [status](/v1/status)"
    )


def build_ui(services: Services) -> gradio.Blocks:
    """The Blocks app of the WebUI; every handler goes through ``services`` (no model is loaded here)."""
    import gradio as gr

    context = UiContext(services)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as blocks:
        gr.Markdown(_header(context))
        page_refreshes: list[Refresh] = []
        with gr.Tabs():
            for label, build_tab in _tabs():
                with gr.Tab(label, id=label.lower()) as tab:
                    refreshes = build_tab(context)
                for refresh in refreshes:
                    tab.select(
                        _safe(refresh.compute),
                        None,
                        refresh.outputs,
                        show_progress="hidden",
                        api_visibility="private",
                    )
                page_refreshes += refreshes
        for refresh in page_refreshes:
            blocks.load(
                _safe(refresh.compute),
                None,
                refresh.outputs,
                show_progress="hidden",
                api_visibility="private",
            )
    blocks.queue(default_concurrency_limit=2)
    weakref.finalize(blocks, context.scratch.cleanup)  # also runs at interpreter exit
    _LOGGER.debug("WebUI built; scratch files in %s", context.scratch.root)
    return blocks


def _safe(compute: Callable[[], Any]) -> Callable[[], Any]:
    from glmtts.ui.errors import ui_handler

    return ui_handler(compute)
