"""The Pronunciation tab: view and edit the server's dictionary; preview how a text is read.

The entries are the server's :class:`~glmtts.serving.pronunciations.PronunciationStore` (the one behind
``/v1/pronunciations``); saving applies them to the engine's live dictionary at once. The preview asks the
engine itself how it reads a text (:meth:`glmtts.synthesis.SynthesisService.describe`): the same frontend
and dictionary every request and job uses.
"""

from __future__ import annotations

import logging
from typing import Any

from glmtts.text import FrontendResult
from glmtts.ui.context import Refresh, UiContext
from glmtts.ui.errors import ui_handler

_LOGGER = logging.getLogger(__name__)

SEGMENT_COLUMNS = ["#", "segment", "pinyin", "phonemes"]
EXAMPLE_TEXT = "银行行长说，重新来一遍。It costs $3.50 on 2024-05-01."


def segment_rows(result: FrontendResult) -> list[list[Any]]:
    return [
        [index, segment.text, segment.pinyin, segment.phonemes or ""]
        for index, segment in enumerate(result.segments, start=1)
    ]


def build_pronunciation_tab(context: UiContext) -> list[Refresh]:
    """Create the tab inside the current Blocks; return what to refresh when the page or tab opens."""
    import gradio as gr

    services = context.services
    store = services.pronunciations
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
        entries = store.replace(text_value or "")
        services.service.set_pronunciations(entries).result()
        _LOGGER.info("UI saved the pronunciation dictionary (%d entries)", len(entries))
        return store.text(), f"Saved {len(entries)} entries; they apply to the next request."

    @ui_handler
    def analyze(text_value: str, phoneme_value: bool) -> tuple[str, list[list[Any]]]:
        services.runtime.host.check_ready()
        text = services.service.decoder.text(text_value)
        result = services.service.describe(text, bool(phoneme_value)).result()
        return result.normalized, segment_rows(result)

    reload_button.click(reload, None, [editor, status], api_name="dictionary")
    save_button.click(save, editor, [editor, status], api_name="save_dictionary")
    preview_button.click(analyze, [text, phoneme], [normalized, segments], api_name="preview_text")
    return [Refresh(reload, [editor, status])]
