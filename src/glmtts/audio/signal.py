"""Small signal helpers: mono mix, resampling, level, content hashes and prompt validation."""

from __future__ import annotations

import hashlib
from math import gcd

import numpy as np

from glmtts.errors import InvalidAudioError

#: A prompt must be at least this long (seconds) to carry a speaker identity.
MIN_PROMPT_S = 1.0
#: Longer prompts are refused: they only slow feature extraction down (upstream uses 3–10 s).
MAX_PROMPT_S = 60.0
#: A clip quieter than this (RMS, dBFS) is treated as silence.
SILENCE_DBFS = -60.0


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average channels of a ``[n]`` or ``[n, channels]`` array into mono float32."""
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1)
    elif data.ndim != 1:
        raise InvalidAudioError(f"audio must be 1-D or 2-D, got shape {data.shape}")
    return np.ascontiguousarray(data, dtype=np.float32)


def resample(samples: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Polyphase resampling of mono float32 audio from ``sr_from`` to ``sr_to`` Hz."""
    if sr_from == sr_to:
        return np.asarray(samples, dtype=np.float32)
    if sr_from <= 0 or sr_to <= 0:
        raise InvalidAudioError(f"invalid sample rates {sr_from} -> {sr_to}")
    from scipy.signal import resample_poly  # deferred: importing scipy.signal costs ~1 s at start-up

    divisor = gcd(sr_from, sr_to)
    out = resample_poly(np.asarray(samples, dtype=np.float64), sr_to // divisor, sr_from // divisor)
    return out.astype(np.float32)


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
    digest.update(np.ascontiguousarray(samples, dtype=np.float32).tobytes())
    digest.update((prompt_text or "").encode("utf-8"))
    return digest.hexdigest()[:32]


def validate_prompt(
    samples: np.ndarray,
    sample_rate: int,
    min_s: float = MIN_PROMPT_S,
    max_s: float = MAX_PROMPT_S,
) -> None:
    """Raise :class:`InvalidAudioError` if a prompt clip cannot carry a voice."""
    if samples.size == 0:
        raise InvalidAudioError("prompt audio is empty (zero samples)")
    if not np.all(np.isfinite(samples)):
        raise InvalidAudioError("prompt audio contains NaN or infinite samples")
    duration_s = samples.size / float(sample_rate)
    if duration_s < min_s:
        raise InvalidAudioError(f"prompt audio is {duration_s:.2f} s long; at least {min_s:g} s is needed")
    if duration_s > max_s:
        raise InvalidAudioError(f"prompt audio is {duration_s:.1f} s long; at most {max_s:g} s is accepted")
    if rms_dbfs(samples) < SILENCE_DBFS:
        raise InvalidAudioError("prompt audio is silent")
