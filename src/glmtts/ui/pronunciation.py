"""The Pronunciation tab: view and edit the server's dictionary; preview how a text is read.

The dictionary is the server's :class:`~glmtts.serving.pronunciations.PronunciationStore` (the one behind
``/v1/pronunciations``; an edit applies to the next request). The preview runs the shared text frontend
(:mod:`glmtts.text`) with the same entries a request would get.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from glmtts.text import FrontendConfig, FrontendResult, TextFrontend
from glmtts.ui.context import Refresh, UiContext
from glmtts.ui.errors import ui_handler

if TYPE_CHECKING:
    from glmtts.serving.services import Services

_LOGGER = logging.getLogger(__name__)

SEGMENT_COLUMNS = ["#", "segment", "pinyin", "phonemes"]
EXAMPLE_TEXT = "银行行长说，重新来一遍。It costs $3.50 on 2024-05-01."


class TextPreview:
    """A text frontend configured like the engine's, loaded on first use (about a second)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._frontend: TextFrontend | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> TextFrontend:
        with self._lock:
            if self._frontend is None:
                engine_config = self.services.settings.engine_config()
                frontend = TextFrontend(
                    FrontendConfig(
                        dictionary_path=engine_config.dictionary_path, cache_dir=engine_config.cache_dir
                    )
                )
                frontend.load()
                self._frontend = frontend
            return self._frontend

    def analyze(self, text: str, phoneme: bool) -> FrontendResult:
        """Normalization, segments and readings of ``text`` with the server's dictionary entries."""
        text = self.services.tts.check_text(text)
        entries = self.services.pronunciations.entries()
        return self._loaded().analyze(text, phoneme=phoneme, extra_entries=entries)


def segment_rows(result: FrontendResult) -> list[list[Any]]:
    return [
        [index, segment.text, segment.pinyin, segment.phonemes or ""]
        for index, segment in enumerate(result.segments, start=1)
    ]


def build_pronunciation_tab(context: UiContext) -> list[Refresh]:
    """Create the tab inside the current Blocks; return what to refresh when the page or tab opens."""
    import gradio as gr

    store = context.services.pronunciations
    preview = TextPreview(context.services)
    gr.Markdown(
        "Upstream `G2P_replace_dict.jsonl` format: one object per line mapping text to its reading, e.g. "
        '`{"行长": "hang2 zhang3"}` or phoneme tokens `{"重": "<|CH|><|ONG2|>"}`. Used in phoneme mode.'
    )
    editor = gr.Code(
        store.text(), language=None, lines=10, label=f"Dictionary ({store.path})", interactive=True
    )
    with gr.Row():
        reload_button = gr.Button("Reload")
        save_button = gr.Button("Save dictionary", variant="primary")
    status = gr.Markdown(f"{len(store.entries())} entries.", elem_id="dict-status")
    gr.Markdown("### Preview a text")
    with gr.Row():
        text = gr.Textbox(EXAMPLE_TEXT, label="Text", lines=2, scale=4)
        phoneme = gr.Checkbox(True, label="Phoneme mode", scale=1)
        preview_button = gr.Button("Preview", scale=1)
    normalized = gr.Textbox(label="Normalized", interactive=False)
    segments = gr.Dataframe(headers=SEGMENT_COLUMNS, label="Segments", interactive=False, wrap=True)

    def reload() -> tuple[str, str]:
        return store.text(), f"{len(store.entries())} entries."

    @ui_handler
    def save(text_value: str) -> tuple[str, str]:
        n_entries = store.replace(text_value or "")
        _LOGGER.info("UI saved the pronunciation dictionary (%d entries)", n_entries)
        return store.text(), f"Saved {n_entries} entries; they apply to the next request."

    @ui_handler
    def analyze(text_value: str, phoneme_value: bool) -> tuple[str, list[list[Any]]]:
        result = preview.analyze(text_value, phoneme_value)
        return result.normalized, segment_rows(result)

    reload_button.click(reload, None, [editor, status], api_name="dictionary")
    save_button.click(save, editor, [editor, status], api_name="save_dictionary")
    preview_button.click(analyze, [text, phoneme], [normalized, segments], api_name="preview_text")
    return [Refresh(reload, [editor, status])]
