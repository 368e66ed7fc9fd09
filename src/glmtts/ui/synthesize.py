"""The Synthesize tab: text + voice (built-in, stored, or a prompt clip) → streamed and downloadable audio."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glmtts.audio import AudioFormat, encode_audio
from glmtts.engines.base import SAMPLING_STRATEGIES
from glmtts.errors import InvalidAudioError
from glmtts.serving.api.options import build_format, build_options
from glmtts.serving.requests import PromptClip, SpeechRequest, Timings
from glmtts.ui.choices import DEFAULT_VOICE, voice_choices
from glmtts.ui.context import Refresh, UiContext
from glmtts.ui.errors import ui_handler

_LOGGER = logging.getLogger(__name__)

SOURCE_VOICE = "Voice"
SOURCE_PROMPT = "Prompt clip"
UI_ROUTE = "/ui"
EXAMPLE_TEXT = "Hello! This is glmtts, an always-warm text to speech server."


def describe_timings(timings: Timings, audio_s: float) -> str:
    """Markdown line with time to first audio, RTF and the other stage timings."""
    rtf = timings.synth_s / audio_s if audio_s > 0 else 0.0
    cached = "cached" if timings.voice_cached else "computed"
    return (
        f"**Time to first audio** {timings.first_audio_s:.3f} s · **RTF** {rtf:.3f} · "
        f"audio {audio_s:.2f} s · synthesis {timings.synth_s:.3f} s · queue {timings.queue_wait_s:.3f} s · "
        f"voice {timings.voice_s:.3f} s ({cached}) · total {timings.total_s:.3f} s"
    )


@dataclass(frozen=True)
class SynthesisForm:
    """The Synthesize form as submitted (loosely typed, as widgets and API clients send it)."""

    text: str
    source: str = SOURCE_VOICE
    voice: str | None = None
    prompt_clip: str | None = None
    prompt_text: str = ""
    seed: float = 42
    speed: float = 1.0
    phoneme: bool = False
    audio_format: str = "wav"
    stream: bool = True
    sampling: str = "ras"
    temperature: float = 1.0
    top_k: float = 25
    top_p: float = 0.8


def pcm16_to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32767.0


class SynthesizeHandler:
    """Builds a :class:`SpeechRequest` from the form and runs it through the server's TTS service."""

    def __init__(self, context: UiContext) -> None:
        self.context = context
        self.services = context.services

    def _prompt(self, source: str, prompt_path: str | None, prompt_text: str) -> PromptClip | None:
        if source != SOURCE_PROMPT:
            return None
        if not prompt_path:
            raise InvalidAudioError("upload or record a prompt clip, or choose a voice instead")
        data = Path(prompt_path).read_bytes()
        return self.services.tts.decode_prompt(data, prompt_text or None, "prompt clip")

    def build_request(self, form: SynthesisForm, audio_format: AudioFormat) -> SpeechRequest:
        """Validate the form (the same option parsing as the HTTP API) into a request."""
        tts = self.services.tts
        tts.check_ready()
        fields: dict[str, Any] = {"seed": form.seed, "speed": form.speed, "phoneme": bool(form.phoneme)}
        if self.context.engine_has_sampling():
            fields.update(
                sampling=form.sampling, temperature=form.temperature, top_k=form.top_k, top_p=form.top_p
            )
        settings = self.services.settings
        voice = form.voice if form.voice and form.voice != DEFAULT_VOICE else None
        return SpeechRequest(
            text=tts.check_text(form.text or ""),
            voice=voice if form.source == SOURCE_VOICE else None,
            prompt=self._prompt(form.source, form.prompt_clip, form.prompt_text),
            options=build_options(fields, settings.seed, settings.max_text_chars),
            audio_format=audio_format,
            request_id=uuid.uuid4().hex[:12],
            route=UI_ROUTE,
        )

    def synthesize(
        self,
        text: str,
        source: str,
        voice: str | None,
        prompt_clip: str | None,
        prompt_text: str,
        seed: float,
        speed: float,
        phoneme: bool,
        audio_format: str,
        stream: bool,
        sampling: str,
        temperature: float,
        top_k: float,
        top_p: float,
    ) -> Iterator[tuple[Any, Any, Any, str]]:
        """The Gradio event (``/synthesize``): with ``stream`` the audio plays while it is made."""
        form = SynthesisForm(
            text, source, voice, prompt_clip, prompt_text, seed, speed, phoneme, audio_format, stream,
            sampling, temperature, top_k, top_p,
        )  # fmt: skip
        yield from self.run(form)

    def run(self, form: SynthesisForm) -> Iterator[tuple[Any, Any, Any, str]]:
        """Yield (stream chunk, playback file, download file, timings) updates."""
        audio_format = build_format(form.audio_format or "wav")
        if form.stream:
            yield from self._run_streaming(form, audio_format)
            return
        result = self.services.tts.synthesize_sync(self.build_request(form, audio_format))
        yield (
            None,
            self._playback_file(result.samples, result.sample_rate, result.audio, audio_format),
            self.context.scratch.write_bytes("speech", f".{audio_format.value}", result.audio),
            describe_timings(result.timings, result.duration_s),
        )

    def _run_streaming(
        self, form: SynthesisForm, audio_format: AudioFormat
    ) -> Iterator[tuple[Any, Any, Any, str]]:
        import gradio as gr

        request = self.build_request(form, AudioFormat.PCM)
        stream = self.services.tts.open_stream(request)
        sample_rate = self.services.tts.sample_rate
        pieces: list[bytes] = []
        try:
            for data in stream:
                pieces.append(data)
                yield (sample_rate, np.frombuffer(data, dtype="<i2")), gr.skip(), gr.skip(), "streaming…"
        finally:
            stream.cancel()  # stops the synthesis if the page went away mid-stream; no-op once finished
        samples = pcm16_to_float(b"".join(pieces))
        audio = encode_audio(samples, sample_rate, audio_format)
        timings = stream.timings or Timings()
        yield (
            gr.skip(),
            self._playback_file(samples, sample_rate, audio, audio_format),
            self.context.scratch.write_bytes("speech", f".{audio_format.value}", audio),
            describe_timings(timings, len(samples) / float(sample_rate)),
        )

    def _playback_file(
        self, samples: np.ndarray, sample_rate: int, audio: bytes, audio_format: AudioFormat
    ) -> str:
        """A browser-playable file: the result itself when it is WAV, else a WAV copy."""
        if audio_format is AudioFormat.WAV:
            return self.context.scratch.write_bytes("speech", ".wav", audio)
        return self.context.scratch.write_bytes(
            "speech", ".wav", encode_audio(samples, sample_rate, AudioFormat.WAV)
        )


def _speaker_inputs(context: UiContext) -> list[Any]:
    """Text, speaker source, voice, prompt clip and its transcript; the source toggles what is shown."""
    import gradio as gr

    text = gr.Textbox(label="Text", value=EXAMPLE_TEXT, lines=4, max_lines=12, elem_id="synth-text")
    with gr.Group():
        source = gr.Radio([SOURCE_VOICE, SOURCE_PROMPT], value=SOURCE_VOICE, label="Speaker from")
        choices = voice_choices(context.services)
        voice = gr.Dropdown(choices, label="Voice", allow_custom_value=True, elem_id="synth-voice")
        prompt_audio = gr.Audio(
            sources=["upload", "microphone"], type="filepath", label="Prompt clip", visible=False
        )
        prompt_text = gr.Textbox(label="Prompt transcript (optional)", visible=False)

    def show_prompt_fields(choice: str) -> tuple[Any, Any, Any]:
        is_prompt = choice == SOURCE_PROMPT
        return gr.update(visible=not is_prompt), gr.update(visible=is_prompt), gr.update(visible=is_prompt)

    source.change(show_prompt_fields, source, [voice, prompt_audio, prompt_text], show_progress="hidden")
    return [text, source, voice, prompt_audio, prompt_text]


def _option_inputs(context: UiContext) -> list[Any]:
    """Seed, speed, phoneme mode, format, streaming, and sampling (shown for engines that sample)."""
    import gradio as gr

    with gr.Row():
        seed = gr.Number(context.services.settings.seed, label="Seed", precision=0, minimum=0)
        speed = gr.Slider(0.5, 2.0, value=1.0, step=0.05, label="Speed")
    with gr.Row():
        phoneme = gr.Checkbox(False, label="Phoneme mode (uses the pronunciation dictionary)")
        audio_format = gr.Dropdown([f.value for f in AudioFormat], value="wav", label="Output format")
        stream = gr.Checkbox(True, label="Stream playback")
    with gr.Accordion("Sampling", open=False, visible=context.engine_has_sampling()):
        sampling = gr.Dropdown(list(SAMPLING_STRATEGIES), value="ras", label="Strategy")
        temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="Temperature")
        top_k = gr.Slider(1, 100, value=25, step=1, label="Top-k")
        top_p = gr.Slider(0.05, 1.0, value=0.8, step=0.05, label="Top-p")
    return [seed, speed, phoneme, audio_format, stream, sampling, temperature, top_k, top_p]


def build_synthesize_tab(context: UiContext) -> list[Refresh]:
    """Create the tab inside the current Blocks; return what to refresh when the page or tab opens."""
    import gradio as gr

    handler = SynthesizeHandler(context)
    with gr.Row():
        with gr.Column(scale=3):
            speaker = _speaker_inputs(context)
        with gr.Column(scale=2):
            options = _option_inputs(context)
            button = gr.Button("Synthesize", variant="primary", elem_id="synth-button")
    stream_audio = gr.Audio(label="Streamed playback", streaming=True, autoplay=True, interactive=False)
    with gr.Row():
        result_audio = gr.Audio(label="Result", type="filepath", interactive=False, elem_id="synth-result")
        download = gr.File(label="Download", interactive=False, elem_id="synth-download")
    timings = gr.Markdown(elem_id="synth-timings")
    button.click(
        ui_handler(handler.synthesize),
        [*speaker, *options],
        [stream_audio, result_audio, download, timings],
        api_name="synthesize",
        concurrency_limit=context.services.settings.max_queue,
    )
    voice = speaker[2]
    return [Refresh(lambda: gr.update(choices=voice_choices(context.services)), [voice])]
