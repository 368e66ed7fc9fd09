"""Voice features of the GLM-TTS engine: what a prompt clip contributes to every synthesis with its voice.

A prompt clip (``[n]`` or ``[n, channels]``, any rate) and its transcript become :class:`VoiceFeatures`,
computed as upstream's ``TTSFrontEnd`` does (resampling: :func:`glmtts.audio.resample`, the windowed sinc
of torchaudio's ``Resample``):

* ``prompt_text_ids`` — text tokens of ``normalize(transcript) + " "``; an empty transcript normalizes to
  ``"."`` as upstream's, so the LLM always gets the prompt speech too (offset by ``ats``);
* ``speech_tokens`` — speech tokens of **channel 0** resampled to 16 kHz, all ``ceil(25·d)`` of them;
* ``mel`` — the flow's prompt mel ``[frames, 80]`` of the channel mean resampled to the output rate, all
  ``floor(50·d)`` frames: usually 1–2 fewer than 2 per token, and the flow then also outputs the frames
  of the partial last prompt token, as upstream's does;
* ``embedding`` — the 192-d CAMPPlus speaker embedding of the channel mean resampled to 16 kHz.

They travel as plain numpy arrays in :attr:`glmtts.engines.base.Voice.features`, so the serving layer can
persist a voice with ``numpy.savez`` and reload it without executing code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from glmtts.audio.resample import resample
from glmtts.audio.signal import first_channel, to_mono
from glmtts.errors import InvalidAudioError, UnknownVoiceError

if TYPE_CHECKING:
    from glmtts.engines.glm.mel import MelExtractor
    from glmtts.engines.glm.speaker import SpeakerEncoder
    from glmtts.engines.glm.speech_tokenizer import SpeechTokenizer
    from glmtts.engines.glm.tokenizer import TextTokenizer

_LOGGER = logging.getLogger(__name__)

TOKENIZER_RATE = 16000
#: Upstream's normalization of an empty transcript (``ensure_proper_ending("")``).
EMPTY_PROMPT_TEXT = "."
_FEATURE_KEYS = ("prompt_text_ids", "speech_tokens", "mel", "embedding", "mel_sample_rate")


@dataclass(frozen=True)
class VoiceFeatures:
    """The per-voice inputs of the LLM and the flow (see the module docstring)."""

    prompt_text_ids: np.ndarray
    speech_tokens: np.ndarray
    mel: np.ndarray
    embedding: np.ndarray
    mel_sample_rate: int

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain numpy arrays for :attr:`Voice.features`."""
        return {
            "prompt_text_ids": self.prompt_text_ids.astype(np.int32),
            "speech_tokens": self.speech_tokens.astype(np.int32),
            "mel": self.mel.astype(np.float32),
            "embedding": self.embedding.astype(np.float32),
            "mel_sample_rate": np.asarray(self.mel_sample_rate, dtype=np.int32),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], sample_rate: int) -> VoiceFeatures:
        """Validate stored arrays (e.g. a persisted voice) against this engine's sample rate."""
        missing = [key for key in _FEATURE_KEYS if key not in arrays]
        if missing:
            raise UnknownVoiceError(f"voice features lack {', '.join(missing)}; prepare the voice again")
        features = cls(
            prompt_text_ids=np.asarray(arrays["prompt_text_ids"]).reshape(-1).astype(np.int64),
            speech_tokens=np.asarray(arrays["speech_tokens"]).reshape(-1).astype(np.int64),
            mel=np.asarray(arrays["mel"], dtype=np.float32),
            embedding=np.asarray(arrays["embedding"], dtype=np.float32).reshape(-1),
            mel_sample_rate=int(np.asarray(arrays["mel_sample_rate"])),
        )
        if features.mel.ndim != 2 or features.mel.shape[1] != 80 or features.embedding.size != 192:
            raise UnknownVoiceError(
                f"voice features have mel {features.mel.shape} and embedding {features.embedding.shape}; "
                "expected [frames, 80] and [192]"
            )
        if features.mel_sample_rate != sample_rate:
            raise UnknownVoiceError(
                f"voice was prepared for {features.mel_sample_rate} Hz output, the engine runs at {sample_rate} Hz"
            )
        if features.speech_tokens.size == 0 or features.mel.shape[0] == 0:
            raise UnknownVoiceError(
                "voice features hold no speech tokens or mel frames; prepare the voice again"
            )
        return features


def prompt_text_ids(tokenizer: TextTokenizer, normalized: str) -> list[int]:
    """Text ids of the LLM prompt text: ``normalized + " "``, with ``"."`` for an empty transcript.

    Upstream's ``text_normalize("")`` ends in ``ensure_proper_ending``, which turns ``""`` into ``"."``, so a
    voice without a transcript still has prompt text, and the LLM still gets its prompt speech tokens.
    """
    return tokenizer.encode((normalized or EMPTY_PROMPT_TEXT) + " ")


class VoiceEncoder:
    """Turns a prompt clip and its transcript into :class:`VoiceFeatures` the way upstream's frontend does.

    Validation (length, level) and caching belong to the voice subsystem above the engine; this class only
    computes features.
    """

    def __init__(
        self,
        text_tokenizer: TextTokenizer,
        speech_tokenizer: SpeechTokenizer,
        speaker_encoder: SpeakerEncoder,
        mel_extractor: MelExtractor,
        normalize_text: Callable[[str], str],
    ) -> None:
        self.text_tokenizer = text_tokenizer
        self.speech_tokenizer = speech_tokenizer
        self.speaker_encoder = speaker_encoder
        self.mel_extractor = mel_extractor
        self.normalize_text = normalize_text

    @property
    def sample_rate(self) -> int:
        return int(self.mel_extractor.sample_rate)

    def encode(self, samples: np.ndarray, sample_rate: int, prompt_text: str | None) -> VoiceFeatures:
        """Features of a ``[n]`` or ``[n, channels]`` float clip (any sample rate) and its transcript.

        Raises:
            InvalidAudioError: a clip that is not 1-D/2-D, is empty, or has a non-positive sample rate.
        """
        import torch

        clip = np.asarray(samples, dtype=np.float32)
        if clip.ndim not in (1, 2) or clip.size == 0 or sample_rate <= 0:
            raise InvalidAudioError(
                f"prompt audio must be a non-empty [samples] or [samples, channels] array with a positive "
                f"sample rate, got shape {clip.shape} at {sample_rate} Hz"
            )
        mono = to_mono(clip)
        speech_tokens = self.speech_tokenizer.tokenize(
            resample(first_channel(clip), sample_rate, TOKENIZER_RATE)
        )
        embedding = self.speaker_encoder.embed(resample(mono, sample_rate, TOKENIZER_RATE))
        clip_out = resample(mono, sample_rate, self.sample_rate)
        mel = self.mel_extractor(torch.from_numpy(clip_out)[None])[0].float().cpu().numpy()
        normalized = self.normalize_text(prompt_text) if prompt_text and prompt_text.strip() else ""
        text_ids = prompt_text_ids(self.text_tokenizer, normalized)
        _LOGGER.info(
            "prepared voice features: %.2f s clip, %d speech tokens, %d mel frames, %d prompt text tokens",
            clip.shape[0] / sample_rate,
            len(speech_tokens),
            mel.shape[0],
            len(text_ids),
        )
        return VoiceFeatures(
            prompt_text_ids=np.asarray(text_ids, dtype=np.int64),
            speech_tokens=np.asarray(speech_tokens, dtype=np.int64),
            mel=mel,
            embedding=embedding,
            mel_sample_rate=self.sample_rate,
        )


def synthetic_prompt(sample_rate: int = 24000, duration_s: float = 2.0) -> np.ndarray:
    """A voice-like clip (a gliding harmonic tone in syllable-shaped bursts), used for warm-up and demos."""
    time_s = np.arange(int(sample_rate * duration_s)) / sample_rate
    f0 = 140.0 + 25.0 * np.sin(2 * np.pi * 1.5 * time_s)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    wave: Any = sum((0.6 / harmonic) * np.sin(harmonic * phase) for harmonic in range(1, 8))
    envelope = np.clip(np.sin(np.pi * 4.0 * time_s) ** 2 + 0.1, 0.0, 1.0)
    return np.asarray(0.3 * wave * envelope / np.max(np.abs(wave)), dtype=np.float32)
