"""Voice features of the GLM-TTS engine: what a prompt clip contributes to every synthesis with its voice.

A prompt clip and its transcript become :class:`VoiceFeatures` once per distinct clip (content hash):

* ``prompt_text_ids`` — text tokens of ``normalize(transcript) + " "`` (upstream's prompt-text form);
* ``speech_tokens`` — speech tokens of the clip at 16 kHz (25 per second);
* ``mel`` — the flow's prompt mel ``[frames, 80]`` at the output sample rate (50 frames per second);
  tokens and mel are trimmed to exactly 2 frames per token (upstream keeps a partial last token, which
  shifts the flow's prompt/target boundary by a frame);
* ``embedding`` — the 192-d CAMPPlus speaker embedding.

They travel as plain numpy arrays in :attr:`glmtts.engines.base.Voice.features`, so the serving layer can
persist a voice with ``numpy.savez`` and reload it without executing code.

Without a transcript the LLM gets neither prompt text nor prompt speech tokens (upstream would offset the
speech tokens only when both exist, feeding raw codes as text ids otherwise); the flow still conditions on
the clip's tokens, mel and embedding, so the voice is kept.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from glmtts.audio import audio_content_hash, resample, to_mono, validate_prompt
from glmtts.errors import InvalidAudioError, UnknownVoiceError

if TYPE_CHECKING:
    from glmtts.engines.glm.mel import MelExtractor
    from glmtts.engines.glm.speaker import SpeakerEncoder
    from glmtts.engines.glm.speech_tokenizer import SpeechTokenizer
    from glmtts.engines.glm.tokenizer import TextTokenizer

_LOGGER = logging.getLogger(__name__)

TOKENIZER_RATE = 16000
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
        if features.speech_tokens.size == 0:
            raise UnknownVoiceError("voice features hold no speech tokens; prepare the voice again")
        return features


class VoiceEncoder:
    """Turns prompt clips into :class:`VoiceFeatures`, computing each distinct clip only once (LRU)."""

    def __init__(
        self,
        text_tokenizer: TextTokenizer,
        speech_tokenizer: SpeechTokenizer,
        speaker_encoder: SpeakerEncoder,
        mel_extractor: MelExtractor,
        normalize_text: Callable[[str], str],
        cache_size: int = 32,
    ) -> None:
        self.text_tokenizer = text_tokenizer
        self.speech_tokenizer = speech_tokenizer
        self.speaker_encoder = speaker_encoder
        self.mel_extractor = mel_extractor
        self.normalize_text = normalize_text
        self.cache_size = cache_size
        self._cache: OrderedDict[str, VoiceFeatures] = OrderedDict()

    @property
    def sample_rate(self) -> int:
        return int(self.mel_extractor.sample_rate)

    def encode(
        self, samples: np.ndarray, sample_rate: int, prompt_text: str | None
    ) -> tuple[str, VoiceFeatures]:
        """Features of a prompt clip (mono or ``[n, channels]`` float) and the clip's content hash.

        Raises:
            InvalidAudioError: empty, non-finite, shorter than 1 s, longer than 60 s, or silent audio.
        """
        clip = to_mono(samples)
        if sample_rate <= 0:
            raise InvalidAudioError(f"invalid prompt sample rate {sample_rate}")
        validate_prompt(clip, sample_rate)
        digest = audio_content_hash(clip, sample_rate, prompt_text)
        cached = self._cache.get(digest)
        if cached is None:
            cached = self._compute(clip, sample_rate, prompt_text or "")
            self._cache[digest] = cached
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(digest)
        return digest, cached

    def _compute(self, clip: np.ndarray, sample_rate: int, prompt_text: str) -> VoiceFeatures:
        import torch

        clip_16k = resample(clip, sample_rate, TOKENIZER_RATE)
        speech_tokens = self.speech_tokenizer.tokenize(clip_16k)
        embedding = self.speaker_encoder.embed(clip_16k)
        clip_out = resample(clip, sample_rate, self.sample_rate)
        mel = self.mel_extractor(torch.from_numpy(clip_out)[None])[0].float().cpu().numpy()
        # The tokenizer pads to whole tokens (640 samples), the mel counts whole frames (hop 480): keep
        # exactly 2 frames per token so the flow's prompt/target boundary falls on a token boundary.
        n_tokens = min(len(speech_tokens), mel.shape[0] // 2)
        speech_tokens, mel = speech_tokens[:n_tokens], mel[: 2 * n_tokens]
        normalized = self.normalize_text(prompt_text) if prompt_text.strip() else ""
        text_ids = self.text_tokenizer.encode(normalized + " ") if normalized else []
        _LOGGER.info(
            "prepared voice features: %.2f s clip, %d speech tokens, %d mel frames, %d prompt text tokens",
            clip.size / sample_rate,
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

    def clear(self) -> int:
        """Drop cached features; return the bytes freed."""
        freed = sum(sum(a.nbytes for a in f.to_arrays().values()) for f in self._cache.values())
        self._cache.clear()
        return freed


def synthetic_prompt(sample_rate: int = 24000, duration_s: float = 2.0) -> np.ndarray:
    """A voice-like clip (a gliding harmonic tone in syllable-shaped bursts), used for warm-up and demos."""
    time_s = np.arange(int(sample_rate * duration_s)) / sample_rate
    f0 = 140.0 + 25.0 * np.sin(2 * np.pi * 1.5 * time_s)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    wave: Any = sum((0.6 / harmonic) * np.sin(harmonic * phase) for harmonic in range(1, 8))
    envelope = np.clip(np.sin(np.pi * 4.0 * time_s) ** 2 + 0.1, 0.0, 1.0)
    return np.asarray(0.3 * wave * envelope / np.max(np.abs(wave)), dtype=np.float32)
