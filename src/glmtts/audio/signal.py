"""Small signal helpers: channel selection, level, content hashes and prompt validation.

Prompt clips are ``[n]`` (mono) or ``[n, channels]`` float32 arrays. :func:`validate_prompt` is the one
check a prompt passes before an engine computes voice features; its limits only protect the server (the
official GLM-TTS code accepts any clip that yields a mel frame and a speech token) and are parameters so
settings can change them.
"""

from __future__ import annotations

import hashlib

import numpy as np

from glmtts.audio.resample import resample
from glmtts.errors import InvalidAudioError

__all__ = [
    "MAX_PROMPT_S",
    "MIN_PROMPT_S",
    "SILENCE_DBFS",
    "audio_content_hash",
    "first_channel",
    "resample",
    "rms_dbfs",
    "to_mono",
    "validate_prompt",
]

#: Shorter clips are refused: below half a second the speaker encoder sees under 50 fbank frames.
MIN_PROMPT_S = 0.5
#: Longer clips are refused: they only slow feature extraction and the LLM prompt down (upstream uses 3–10 s).
MAX_PROMPT_S = 60.0
#: A clip (or its first channel) quieter than this RMS level, in dBFS, is treated as silence.
SILENCE_DBFS = -60.0
_ADVICE = "send 3–10 s of clean speech"


def _channels(samples: np.ndarray) -> np.ndarray:
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 1:
        return data[:, None]
    if data.ndim != 2:
        raise InvalidAudioError(f"audio must be [samples] or [samples, channels], got shape {data.shape}")
    return data


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels of a ``[n]`` or ``[n, channels]`` array into mono float32."""
    return np.ascontiguousarray(_channels(samples).mean(axis=1), dtype=np.float32)


def first_channel(samples: np.ndarray) -> np.ndarray:
    """Channel 0 of a ``[n]`` or ``[n, channels]`` array, as contiguous mono float32."""
    return np.ascontiguousarray(_channels(samples)[:, 0], dtype=np.float32)


def rms_dbfs(samples: np.ndarray) -> float:
    """Root-mean-square level in dB relative to full scale (-inf for digital silence)."""
    if samples.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(samples.astype(np.float64)))))
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


def audio_content_hash(samples: np.ndarray, sample_rate: int, prompt_text: str | None = None) -> str:
    """Stable hex digest of a clip (and optional transcript), used to cache voice features."""
    digest = hashlib.sha256()
    digest.update(str(int(sample_rate)).encode())
    data = np.ascontiguousarray(samples, dtype=np.float32)
    if data.ndim == 2:
        digest.update(f"channels={data.shape[1]}".encode())
    digest.update(data.tobytes())
    digest.update((prompt_text or "").encode("utf-8"))
    return digest.hexdigest()[:32]


def validate_prompt(
    samples: np.ndarray,
    sample_rate: int,
    min_s: float = MIN_PROMPT_S,
    max_s: float = MAX_PROMPT_S,
    silence_dbfs: float = SILENCE_DBFS,
) -> None:
    """Raise :class:`InvalidAudioError` if a ``[n]`` / ``[n, channels]`` prompt clip cannot carry a voice.

    Every message says what to send instead.
    """
    data = _channels(samples)
    if sample_rate <= 0:
        raise InvalidAudioError(f"invalid prompt sample rate {sample_rate} Hz; send a clip with a real rate")
    if data.size == 0:
        raise InvalidAudioError(f"prompt audio is empty (zero samples); {_ADVICE}")
    if not np.all(np.isfinite(data)):
        raise InvalidAudioError(
            "prompt audio contains NaN or infinite samples; send finite PCM or float audio"
        )
    duration_s = data.shape[0] / float(sample_rate)
    if duration_s < min_s:
        raise InvalidAudioError(
            f"prompt audio is {duration_s:.2f} s long; at least {min_s:g} s is needed ({_ADVICE})"
        )
    if duration_s > max_s:
        raise InvalidAudioError(
            f"prompt audio is {duration_s:.1f} s long; at most {max_s:g} s is accepted (trim it: {_ADVICE})"
        )
    level = rms_dbfs(to_mono(data))
    if level < silence_dbfs:
        raise InvalidAudioError(
            f"prompt audio is silent ({level:.0f} dBFS, below {silence_dbfs:g} dBFS); send a recording of speech"
        )
    if data.shape[1] > 1 and rms_dbfs(data[:, 0]) < silence_dbfs:
        raise InvalidAudioError(
            "the first channel of the prompt audio is silent; speech tokens are read from channel 0 "
            "(as upstream GLM-TTS does): send mono audio or put the speech on the first channel"
        )
