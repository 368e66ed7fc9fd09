"""Band-limited resampling with the windowed-sinc interpolation of torchaudio's ``Resample`` (numpy only).

GLM-TTS resamples prompt clips with ``torchaudio.transforms.Resample`` (method ``sinc_interp_hann``,
``lowpass_filter_width`` 6, ``rolloff`` 0.99). torchaudio has no wheel for the torch this project uses, and
the audio layer must not need torch at all, so the same interpolation sum is evaluated here in numpy.

For input rate ``f_in`` and output rate ``f_out`` the cut-off is ``f_c = rolloff · min(f_in, f_out)`` and
output sample ``j`` (at time ``j / f_out``) is::

    y[j] = Σ_i x[i] · (f_c / f_in) · sinc(t_ij) · w(t_ij),   t_ij = f_c · (i / f_in − j / f_out)
    w(t) = cos²(π t / (2 L)) for |t| ≤ L, else 0             (Hann window, L = lowpass_filter_width)

with ``sinc(t) = sin(π t) / (π t)`` and ``x[i] = 0`` outside the clip. The output has
``ceil(n · f_out / f_in)`` samples, as torchaudio returns.

The sum is evaluated as a polyphase filter: with ``f_in / f_out = p / q`` in lowest terms, output sample
``k·q + r`` uses the taps of phase ``r`` on the input samples around ``k·p``. The taps are rounded to
float32 like torchaudio's kernel buffer; the sums are accumulated in float64.

Usage::

    clip_16k = resample(clip_44k, 44100, 16000)          # [n] or [n, channels] float32
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from glmtts.errors import InvalidAudioError

#: torchaudio's defaults, also what GLM-TTS uses.
LOWPASS_FILTER_WIDTH = 6
ROLLOFF = 0.99
#: Largest polyphase table built (phases × taps); only exotic rate pairs such as 44100 → 16001 need more.
_MAX_TABLE_ENTRIES = 1 << 22


@dataclass(frozen=True)
class _PolyphaseTable:
    """Taps of every output phase: phase ``r`` reads ``taps[r]`` starting at input offset ``starts[r]``."""

    step: int  # input samples per block of ``n_phases`` outputs (``p``)
    n_phases: int  # output samples per block (``q``)
    pad_left: int  # zeros in front of the clip: offsets are relative to the padded input
    starts: tuple[int, ...]
    taps: tuple[np.ndarray, ...]


def _phase_taps(offsets: np.ndarray, phase: int, p: int, q: int, cutoff: float, width: int) -> np.ndarray:
    """Windowed-sinc weights of one output phase at input offsets ``offsets`` (reduced units)."""
    t = cutoff * (offsets / p - phase / q)
    inside = np.abs(t) <= width
    t = np.clip(t, -width, width)
    window = np.cos(t * math.pi / (2 * width)) ** 2
    weights = np.sinc(t) * window * (cutoff / p)
    return np.where(inside, weights, 0.0)


@lru_cache(maxsize=32)
def _polyphase_table(p: int, q: int, width: int, rolloff: float) -> _PolyphaseTable:
    cutoff = min(p, q) * rolloff
    reach = math.ceil(width * p / cutoff)  # input samples on each side where a phase can be non-zero
    offsets = np.arange(-reach, reach + p, dtype=np.float64)
    if q * offsets.size > _MAX_TABLE_ENTRIES:
        raise InvalidAudioError(
            f"cannot resample between these sample rates (ratio {p}:{q} needs a {q}×{offsets.size} filter "
            "table); convert the clip to a common rate such as 16000, 24000, 44100 or 48000 Hz"
        )
    starts: list[int] = []
    taps: list[np.ndarray] = []
    for phase in range(q):
        weights = _phase_taps(offsets, phase, p, q, cutoff, width).astype(np.float32)
        nonzero = np.flatnonzero(weights)
        first, last = (int(nonzero[0]), int(nonzero[-1]) + 1) if nonzero.size else (0, 1)
        starts.append(first)
        taps.append(weights[first:last].astype(np.float64))
    return _PolyphaseTable(p, q, reach, tuple(starts), tuple(taps))


def _resample_channel(channel: np.ndarray, table: _PolyphaseTable, n_out: int) -> np.ndarray:
    n_blocks = channel.size // table.step + 1
    longest = max(start + tap.size for start, tap in zip(table.starts, table.taps, strict=True))
    padded = np.zeros((n_blocks - 1) * table.step + longest, dtype=np.float64)
    padded[table.pad_left : table.pad_left + channel.size] = channel
    out = np.empty((n_blocks, table.n_phases), dtype=np.float64)
    for phase, (start, tap) in enumerate(zip(table.starts, table.taps, strict=True)):
        windows = np.lib.stride_tricks.sliding_window_view(padded[start:], tap.size)[:: table.step]
        out[:, phase] = windows[:n_blocks] @ tap
    return out.reshape(-1)[:n_out]


def resample(
    samples: np.ndarray,
    sr_from: int,
    sr_to: int,
    *,
    lowpass_filter_width: int = LOWPASS_FILTER_WIDTH,
    rolloff: float = ROLLOFF,
) -> np.ndarray:
    """Resample ``[n]`` or ``[n, channels]`` audio from ``sr_from`` to ``sr_to`` Hz (float32 out).

    Raises:
        InvalidAudioError: non-positive rates, a shape other than 1-D/2-D, or a rate pair whose filter
            table would be unreasonably large.
    """
    if sr_from <= 0 or sr_to <= 0:
        raise InvalidAudioError(f"invalid sample rates {sr_from} -> {sr_to}")
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim not in (1, 2):
        raise InvalidAudioError(f"audio must be [samples] or [samples, channels], got shape {data.shape}")
    if sr_from == sr_to:
        return data
    if lowpass_filter_width < 1 or not 0.0 < rolloff <= 1.0:
        raise InvalidAudioError("lowpass_filter_width must be >= 1 and rolloff in (0, 1]")
    divisor = math.gcd(int(sr_from), int(sr_to))
    table = _polyphase_table(int(sr_from) // divisor, int(sr_to) // divisor, lowpass_filter_width, rolloff)
    n_out = math.ceil(data.shape[0] * table.n_phases / table.step)
    if data.ndim == 1:
        return _resample_channel(data.astype(np.float64), table, n_out).astype(np.float32)
    columns = [_resample_channel(data[:, c].astype(np.float64), table, n_out) for c in range(data.shape[1])]
    return np.stack(columns, axis=1).astype(np.float32)
