"""The Voices tab: list stored voices, add one from a clip + transcript, preview and delete."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from glmtts.errors import InvalidAudioError, InvalidOptionError
from glmtts.ui.choices import stored_voice_names, voice_choices
from glmtts.ui.context import Refresh, UiContext
from glmtts.ui.errors import ui_handler
from glmtts.voices import VoiceRecord, validate_voice_name

_LOGGER = logging.getLogger(__name__)

VOICE_COLUMNS = ["name", "id", "seconds", "transcript", "engines"]
PREVIEW_TEXT = "This is how this voice sounds."


def voice_rows(context: UiContext) -> list[list[Any]]:
    """One table row per stored voice."""
    return [
        [r.name, r.voice_id[:12], round(r.duration_s, 2), r.prompt_text or "", ", ".join(r.engines)]
        for r in context.services.voices.store.list()
    ]


class VoicesHandler:
    """Adds, previews and removes stored voices through the server's synthesis service."""

    def __init__(self, context: UiContext) -> None:
        self.context = context
        self.services = context.services

    def add(self, name: str, clip_path: str | None, transcript: str, replace: bool) -> VoiceRecord:
        """Decode and validate the clip, then extract its features on the model worker and store them."""
        self.services.runtime.host.check_ready()
        name = validate_voice_name((name or "").strip())
        if not clip_path:
            raise InvalidAudioError("upload or record a clip for the new voice")
        service = self.services.service
        clip = service.decoder.prompt(Path(clip_path).read_bytes(), transcript or None, "clip")
        record = service.add_voice(name, clip, replace).result()
        _LOGGER.info("UI stored voice %s (%s, %.1f s)", record.name, record.voice_id[:12], record.duration_s)
        return record

    def preview(self, name: str, text: str) -> str:
        """Synthesize a short text with a voice; return a WAV file."""
        if not name:
            raise InvalidOptionError("choose a voice to preview")
        self.services.runtime.host.check_ready()
        service = self.services.service
        fields = {"text": text or PREVIEW_TEXT, "voice": name, "format": "wav"}
        request = service.decoder.decode(fields, request_id=uuid.uuid4().hex[:12], route="/ui")
        audio = service.run(request).collect().encode(request.audio_format)
        return self.context.scratch.write_bytes(f"preview-{name}", ".wav", audio)

    def delete(self, name: str) -> VoiceRecord:
        if not name:
            raise InvalidOptionError("choose a stored voice to delete")
        record = self.services.voices.remove(name)
        _LOGGER.info("UI deleted voice %s", record.name)
        return record


def build_voices_tab(context: UiContext) -> list[Refresh]:
    """Create the tab inside the current Blocks; return what to refresh when the page or tab opens."""
    import gradio as gr

    handler = VoicesHandler(context)
    table = gr.Dataframe(
        value=voice_rows(context),
        headers=VOICE_COLUMNS,
        label="Stored voices",
        interactive=False,
        elem_id="voices-table",
    )
    with gr.Row():
        with gr.Column():
            gr.Markdown("### Add a voice")
            name = gr.Textbox(label="Name", placeholder="letters, digits, - and _")
            clip = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Clip (3–30 s)")
            transcript = gr.Textbox(label="Transcript of the clip (optional, improves cloning)")
            replace = gr.Checkbox(False, label="Replace a voice with the same name")
            add_button = gr.Button("Add voice", variant="primary")
        with gr.Column():
            gr.Markdown("### Preview or delete")
            picked = gr.Dropdown(voice_choices(context.services), label="Voice", allow_custom_value=True)
            preview_text = gr.Textbox(PREVIEW_TEXT, label="Preview text")
            with gr.Row():
                preview_button = gr.Button("Preview")
                delete_button = gr.Button("Delete stored voice", variant="stop")
            preview_audio = gr.Audio(label="Preview", type="filepath", interactive=False)
    status = gr.Markdown(elem_id="voices-status")

    def refreshed(message: str) -> tuple[Any, Any, str]:
        return voice_rows(context), gr.update(choices=voice_choices(context.services)), message

    @ui_handler
    def add(name_value: str, clip_path: str | None, text: str, replace_value: bool) -> tuple[Any, Any, str]:
        record = handler.add(name_value, clip_path, text, replace_value)
        return refreshed(
            f"Stored voice **{record.name}** ({record.duration_s:.1f} s, id {record.voice_id[:12]})."
        )

    @ui_handler
    def delete(name_value: str) -> tuple[Any, Any, str]:
        if name_value not in stored_voice_names(context.services):
            raise InvalidOptionError(f"{name_value!r} is a built-in voice; only stored voices can be deleted")
        record = handler.delete(name_value)
        return refreshed(f"Deleted voice **{record.name}**.")

    add_button.click(add, [name, clip, transcript, replace], [table, picked, status], api_name="add_voice")
    delete_button.click(delete, picked, [table, picked, status], api_name="delete_voice")
    preview_button.click(
        ui_handler(handler.preview), [picked, preview_text], preview_audio, api_name="preview_voice"
    )
    return [Refresh(lambda: refreshed("")[:2], [table, picked])]
