"""Voice *adaptation* toward a prompt speaker — not cloning.

Kokoro has no speaker encoder that could read a new voice from audio; what it has is a 256-d style vector
per voice, and only five bundled voices. So a prompt clip moves the output toward its speaker in two
coarse, measurable ways:

1. **Style mix**: the five bundled style packs are weighted by how close each one's pitch level and
   spectral envelope are to the prompt's (a softmax over those distances), and the weighted pack is used.
2. **WORLD matching** (``pyworld``): every synthesized chunk is analysed into F0, spectral envelope and
   aperiodicity; log-F0 mean and spread are mapped onto the prompt's, a formant (frequency-axis) factor
   is fitted to the prompt (applied with :data:`FORMANT_STRENGTH`), a smoothed spectral tilt/EQ (300 Hz
   resolution, at most ±18 dB) maps the long-term envelope onto the prompt's, and the chunk is
   resynthesized.

Timbre details, accent, rhythm and recording character beyond a long-term EQ are *not* transferred. All
parameters are plain numpy arrays so a :class:`~glmtts.engines.base.Voice` holding them can be saved
with ``numpy.savez`` and reloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from glmtts.errors import InvalidAudioError

_LOGGER = logging.getLogger(__name__)

FRAME_PERIOD_MS = 5.0
#: Band (Hz) where envelopes are compared and the formant factor is fitted.
FIT_BAND_HZ = (100.0, 5000.0)
WARP_GRID = np.round(np.arange(0.75, 1.3501, 0.01), 3)
#: Share (as an exponent) of the fitted formant factor that is applied. Measured with GE2E on the bench
#: speakers, scaling formants by the fitted factor helped one reference and hurt the other, while the
#: fine EQ below (which carries formant-region energy at 300 Hz resolution) helped both; so the factor is
#: fitted and kept in the voice features, but not applied by default (see bench/README.md).
FORMANT_STRENGTH = 0.0
MAX_TILT_DB = 18.0
TILT_SMOOTHING_HZ = 300.0
#: Bounds of the F0 spread ratio, so a monotone or very lively prompt does not distort the output.
F0_SPREAD_RATIO = (0.6, 1.8)
_MIN_VOICED_FRAMES = 20


def _world_analysis(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import pyworld

    audio = np.ascontiguousarray(samples, dtype=np.float64)
    f0, times = pyworld.dio(audio, sample_rate, frame_period=FRAME_PERIOD_MS)
    f0 = pyworld.stonemask(audio, f0, times, sample_rate)
    envelope = pyworld.cheaptrick(audio, f0, times, sample_rate)
    return f0, times, envelope


@dataclass(frozen=True)
class SpeakerProfile:
    """Long-term voice statistics of a clip: log-F0 mean/spread and the mean log spectral envelope."""

    log_f0_mean: float
    log_f0_std: float
    log_envelope: np.ndarray = field(repr=False)
    sample_rate: int = 24000

    @classmethod
    def analyze(cls, samples: np.ndarray, sample_rate: int) -> SpeakerProfile:
        """Measure a clip; raises :class:`InvalidAudioError` when it has too little voiced speech."""
        f0, _, envelope = _world_analysis(samples, sample_rate)
        voiced = f0 > 0
        if int(voiced.sum()) < _MIN_VOICED_FRAMES:
            raise InvalidAudioError("prompt audio holds too little voiced speech to adapt a voice to")
        log_f0 = np.log(f0[voiced])
        log_envelope = np.log(envelope[voiced] + 1e-12).mean(axis=0)
        return cls(float(log_f0.mean()), float(log_f0.std()), log_envelope, sample_rate)

    @property
    def median_f0_hz(self) -> float:
        return float(np.exp(self.log_f0_mean))

    def to_array(self) -> np.ndarray:
        """``[log_f0_mean, log_f0_std, sample_rate, *log_envelope]`` for persisting in voice features."""
        head = np.array([self.log_f0_mean, self.log_f0_std, float(self.sample_rate)])
        return np.concatenate([head, self.log_envelope]).astype(np.float64)

    @classmethod
    def from_array(cls, array: np.ndarray) -> SpeakerProfile:
        values = np.asarray(array, dtype=np.float64)
        return cls(float(values[0]), float(values[1]), values[3:].copy(), int(values[2]))


def _band_bins(n_bins: int, sample_rate: int) -> np.ndarray:
    freqs = np.linspace(0.0, sample_rate / 2.0, n_bins)
    return (freqs >= FIT_BAND_HZ[0]) & (freqs <= FIT_BAND_HZ[1])


def warp_envelope(log_envelope: np.ndarray, alpha: float) -> np.ndarray:
    """Scale the frequency axis of (one or many) log envelopes: a peak at f moves to ``alpha * f``."""
    n_bins = log_envelope.shape[-1]
    source = np.arange(n_bins) / alpha
    lower = np.clip(np.floor(source).astype(int), 0, n_bins - 1)
    upper = np.clip(lower + 1, 0, n_bins - 1)
    fraction = np.clip(source - lower, 0.0, 1.0)
    return log_envelope[..., lower] * (1.0 - fraction) + log_envelope[..., upper] * fraction


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / denominator if denominator > 0 else 0.0


def _smooth(values: np.ndarray, width_hz: float, sample_rate: int) -> np.ndarray:
    """Moving average over ``width_hz`` of a per-bin curve (edges padded with their end values)."""
    bin_hz = (sample_rate / 2.0) / (len(values) - 1)
    width = max(3, round(width_hz / bin_hz) | 1)
    padded = np.pad(values, width // 2, mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def fit_warp(source: np.ndarray, target: np.ndarray, sample_rate: int) -> float:
    """The formant factor that best aligns ``source``'s mean log envelope with ``target``'s."""
    band = _band_bins(source.shape[-1], sample_rate)
    scores = [_correlation(warp_envelope(source, float(a))[band], target[band]) for a in WARP_GRID]
    return float(WARP_GRID[int(np.argmax(scores))])


def fit_tilt_db(source: np.ndarray, target: np.ndarray, sample_rate: int) -> np.ndarray:
    """A smooth EQ curve (dB per bin, mean zero over the fit band, at most ±18 dB) from source to target."""
    difference_db = (target - source) * (10.0 / np.log(10.0))
    smooth = _smooth(difference_db, TILT_SMOOTHING_HZ, sample_rate)
    band = _band_bins(len(source), sample_rate)
    smooth = smooth - smooth[band].mean()
    return np.clip(smooth, -MAX_TILT_DB, MAX_TILT_DB)


@dataclass(frozen=True)
class VoiceTransform:
    """The WORLD-domain mapping from the synthesized voice to the prompt speaker."""

    source_log_f0: tuple[float, float]
    target_log_f0: tuple[float, float]
    warp_alpha: float
    tilt_db: np.ndarray = field(repr=False)

    @classmethod
    def fit(cls, source: SpeakerProfile, target: SpeakerProfile) -> VoiceTransform:
        """Fit pitch, formant and tilt matching from a ``source`` voice profile to a ``target`` one."""
        fitted = fit_warp(source.log_envelope, target.log_envelope, source.sample_rate)
        alpha = round(fitted**FORMANT_STRENGTH, 4)
        warped = warp_envelope(source.log_envelope, alpha)
        tilt = fit_tilt_db(warped, target.log_envelope, source.sample_rate)
        return cls(
            (source.log_f0_mean, source.log_f0_std), (target.log_f0_mean, target.log_f0_std), alpha, tilt
        )

    def to_features(self) -> dict[str, np.ndarray]:
        return {
            "f0_stats": np.array([*self.source_log_f0, *self.target_log_f0], dtype=np.float64),
            "warp_alpha": np.array([self.warp_alpha], dtype=np.float64),
            "tilt_db": np.asarray(self.tilt_db, dtype=np.float64),
        }

    @classmethod
    def from_features(cls, features: Mapping[str, np.ndarray]) -> VoiceTransform:
        stats = np.asarray(features["f0_stats"], dtype=np.float64)
        return cls(
            (float(stats[0]), float(stats[1])),
            (float(stats[2]), float(stats[3])),
            float(np.asarray(features["warp_alpha"]).ravel()[0]),
            np.asarray(features["tilt_db"], dtype=np.float64),
        )

    def map_f0(self, f0: np.ndarray) -> np.ndarray:
        """Match log-F0 mean and spread (unvoiced frames stay 0)."""
        voiced = f0 > 0
        ratio = self.target_log_f0[1] / max(self.source_log_f0[1], 1e-3)
        ratio = float(np.clip(ratio, *F0_SPREAD_RATIO))
        mapped = np.zeros_like(f0)
        log_f0 = np.log(f0[voiced])
        mapped[voiced] = np.exp((log_f0 - self.source_log_f0[0]) * ratio + self.target_log_f0[0])
        return mapped

    def apply(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Resynthesize ``samples`` with the mapped pitch, warped envelope and tilt (level kept)."""
        import pyworld

        if samples.size < sample_rate // 10:
            return samples
        audio = np.ascontiguousarray(samples, dtype=np.float64)
        f0, times, envelope = _world_analysis(audio, sample_rate)
        aperiodicity = pyworld.d4c(audio, f0, times, sample_rate)
        log_envelope = warp_envelope(np.log(envelope + 1e-12), self.warp_alpha)
        log_envelope += self.tilt_db * (np.log(10.0) / 10.0)
        out = pyworld.synthesize(
            np.ascontiguousarray(self.map_f0(f0)),
            np.ascontiguousarray(np.exp(log_envelope)),
            np.ascontiguousarray(aperiodicity),
            sample_rate,
            FRAME_PERIOD_MS,
        )
        out = out[: samples.size]
        gain = _rms(audio) / max(_rms(out), 1e-9)
        return np.clip(out * gain, -1.0, 1.0).astype(np.float32)


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples)))) if samples.size else 0.0


def style_weights(
    prompt: SpeakerProfile, packs: Mapping[str, SpeakerProfile], temperature: float = 1.0
) -> np.ndarray:
    """Softmax weights of the bundled packs by closeness to the prompt (pitch in semitones + envelope).

    The distance of a pack is ``|Δ pitch| / 2 semitones + (1 - envelope correlation) / 0.05``, compared
    after fitting the formant factor so that a pack is not penalised for a different vocal-tract length
    that WORLD matching corrects anyway.
    """
    distances = []
    band = _band_bins(len(prompt.log_envelope), prompt.sample_rate)
    for profile in packs.values():
        semitones = abs(profile.log_f0_mean - prompt.log_f0_mean) * 12.0 / np.log(2.0)
        alpha = fit_warp(profile.log_envelope, prompt.log_envelope, prompt.sample_rate)
        warped = warp_envelope(profile.log_envelope, alpha)
        envelope_gap = 1.0 - _correlation(warped[band], prompt.log_envelope[band])
        distances.append(semitones / 2.0 + envelope_gap / 0.05)
    scores = -np.asarray(distances) / max(temperature, 1e-6)
    weights = np.exp(scores - scores.max())
    return (weights / weights.sum()).astype(np.float64)
