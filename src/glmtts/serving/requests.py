"""What a speech request is once parsed, independent of HTTP or Gradio: text, voice, options, format."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glmtts.audio import AudioFormat
from glmtts.engines.base import SynthesisOptions

#: OpenAI's voice names, mapped in this order onto the engine's built-in voices (wrapping around).
OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
)


@dataclass(frozen=True)
class PromptClip:
    """A decoded, validated prompt clip (mono float32) with its optional transcript."""

    samples: np.ndarray = field(repr=False)
    sample_rate: int
    prompt_text: str | None = None

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate)


@dataclass(frozen=True)
class VoiceRef:
    """A resolved voice choice: a built-in voice, a stored voice id, or an uploaded prompt."""

    kind: str  # "builtin" | "stored" | "prompt"
    name: str | None = None
    prompt: PromptClip | None = None


@dataclass(frozen=True)
class SpeechRequest:
    """One synthesis request as every front end (HTTP, UI, jobs) hands it to :class:`TTSService`."""

    text: str
    voice: str | None = None
    prompt: PromptClip | None = None
    options: SynthesisOptions = field(default_factory=SynthesisOptions)
    audio_format: AudioFormat = AudioFormat.WAV
    request_id: str = ""
    route: str = "internal"


@dataclass(frozen=True)
class Timings:
    """Where the time of one request went (seconds)."""

    queue_wait_s: float = 0.0
    voice_s: float = 0.0
    first_audio_s: float = 0.0
    synth_s: float = 0.0
    total_s: float = 0.0
    voice_cached: bool = False


@dataclass(frozen=True)
class SpeechResult:
    """A finished synthesis: the raw samples, the encoded file and timings."""

    samples: np.ndarray = field(repr=False)
    sample_rate: int
    audio: bytes = field(repr=False)
    audio_format: AudioFormat
    timings: Timings

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate)

    @property
    def media_type(self) -> str:
        return self.audio_format.media_type
