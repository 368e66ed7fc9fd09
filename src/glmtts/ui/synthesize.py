"""The Synthesize tab: text + voice (built-in, stored, or a prompt clip) → streamed and downloadable audio,
with the captions under the result player (:mod:`glmtts.ui.captions`)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from glmtts.audio import AudioChunk, AudioFormat
from glmtts.engines.base import SAMPLING_STRATEGIES
from glmtts.errors import InvalidAudioError
from glmtts.synthesis import Synthesis, SynthesisRequest, Timings
from glmtts.ui.captions import captions_component, captions_html
from glmtts.ui.choices import voice_choices
from glmtts.ui.context import Refresh, UiContext
from glmtts.ui.errors import ui_handler
from glmtts.voices import PromptClip

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


def pcm16(chunk: AudioChunk) -> np.ndarray:
    """Samples for Gradio's streamed playback (int16, what the browser player takes)."""
    return (np.clip(chunk.samples, -1.0, 1.0) * 32767.0).round().astype(np.int16)


class SynthesizeHandler:
    """Decodes the form into a request (the service's decoder) and runs it through the service."""

    def __init__(self, context: UiContext) -> None:
        self.context = context
        self.services = context.services

    def _clip(self, source: str, prompt_path: str | None, prompt_text: str | None) -> PromptClip | None:
        if source != SOURCE_PROMPT:
            return None
        if not prompt_path:
            raise InvalidAudioError("upload or record a prompt clip, or choose a voice instead")
        data = Path(prompt_path).read_bytes()
        return self.services.service.decoder.prompt(data, prompt_text or None, "prompt clip")

    def build_request(self, fields: dict[str, Any], stream: bool) -> SynthesisRequest:
        """Validate the form into a request; sampling fields only count for engines that sample."""
        self.services.runtime.host.check_ready()
        if not self.context.capabilities.sampling:
            for name in ("sampling", "temperature", "top_k", "top_p"):
                fields.pop(name, None)
        clip = self._clip(fields.pop("source"), fields.pop("prompt_clip"), fields.pop("prompt_text"))
        return self.services.service.decoder.decode(
            fields, clip=clip, stream=stream, request_id=uuid.uuid4().hex[:12], route=UI_ROUTE
        )

    def synthesize(
        self,
        text: str,
        source: str = SOURCE_VOICE,
        voice: str | None = None,
        prompt_clip: str | None = None,
        prompt_text: str | None = None,
        seed: float | None = None,
        speed: float | None = None,
        phoneme: bool = False,
        audio_format: str = "wav",
        stream: bool = True,
        sampling: str | None = None,
        temperature: float | None = None,
        top_k: float | None = None,
        top_p: float | None = None,
    ) -> Iterator[tuple[Any, Any, Any, str, str]]:
        """The Gradio event (``/synthesize``): yields (stream chunk, playback file, download, timings,
        captions HTML).

        With ``stream`` the audio plays while it is made; the download is encoded from the same float
        chunks (never re-quantised from the streamed PCM).
        """
        fields: dict[str, Any] = {
            "text": text, "source": source, "voice": voice if source == SOURCE_VOICE else None,
            "prompt_clip": prompt_clip, "prompt_text": prompt_text, "seed": seed, "speed": speed,
            "phoneme": bool(phoneme), "format": audio_format, "sampling": sampling, "temperature": temperature,
            "top_k": top_k, "top_p": top_p, "timestamps": "segment",
        }  # fmt: skip
        request = self.build_request(fields, stream=bool(stream))
        if not stream:
            yield (None, *self._files(self.services.service.run(request).collect(), request.audio_format))
            return
        yield from self._streamed(request)

    def _streamed(self, request: SynthesisRequest) -> Iterator[tuple[Any, Any, Any, str, str]]:
        import gradio as gr

        events = self.services.service.run(request)
        chunks: list[AudioChunk] = []
        try:
            for chunk in events.chunks():
                chunks.append(chunk)
                yield (chunk.sample_rate, pcm16(chunk)), gr.skip(), gr.skip(), "streaming…", gr.skip()
        finally:
            events.cancel()  # stops the synthesis if the page went away mid-stream; no-op once finished
        assert events.summary is not None
        yield (gr.skip(), *self._files(Synthesis(tuple(chunks), events.summary), request.audio_format))

    def _files(self, result: Synthesis, audio_format: AudioFormat) -> tuple[str, str, str, str]:
        """Playback file (WAV: what every browser plays), download file in the chosen format, timings,
        captions."""
        scratch = self.context.scratch
        download = result.encode(audio_format)
        playback = download if audio_format is AudioFormat.WAV else result.encode(AudioFormat.WAV)
        return (
            scratch.write_bytes("speech", ".wav", playback),
            scratch.write_bytes("speech", f".{audio_format.value}", download),
            describe_timings(result.summary.timings, result.duration_s),
            captions_html(result.captions),
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

    capabilities = context.capabilities
    low, high = capabilities.speed_range
    with gr.Row():
        seed = gr.Number(
            context.services.service.decoder.defaults.seed,
            label="Seed",
            precision=0,
            minimum=0,
            visible=capabilities.seed,
        )
        # An engine with one speed (glm) gets a hidden fixed value: Gradio refuses a slider with min == max.
        speed = (
            gr.Slider(max(low, 0.5), min(high, 2.0), value=1.0, step=0.05, label="Speed")
            if high > low
            else gr.Number(low, label="Speed", visible=False)
        )
    with gr.Row():
        phoneme = gr.Checkbox(
            False, label="Phoneme mode (uses the pronunciation dictionary)", visible=capabilities.phoneme_mode
        )
        audio_format = gr.Dropdown(
            [f.value for f in AudioFormat.audio_formats()], value="wav", label="Output format"
        )
        stream = gr.Checkbox(True, label="Stream playback")
    with gr.Accordion("Sampling", open=False, visible=capabilities.sampling):
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
        result_audio = gr.Audio(  # the browser's own player: the captions follow its <audio> element
            label="Result",
            type="filepath",
            interactive=False,
            elem_id="synth-result",
            waveform_options=gr.WaveformOptions(show_recording_waveform=False),
        )
        download = gr.File(label="Download", interactive=False, elem_id="synth-download")
    captions = captions_component()
    timings = gr.Markdown(elem_id="synth-timings")
    button.click(
        ui_handler(handler.synthesize),
        [*speaker, *options],
        [stream_audio, result_audio, download, timings, captions],
        api_name="synthesize",
        concurrency_limit=context.services.settings.max_queue,
    )
    voice = speaker[2]
    return [Refresh(lambda: gr.update(choices=voice_choices(context.services)), [voice])]
