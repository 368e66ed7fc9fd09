"""Streaming support of the harmonic source: a later call can continue an earlier call's sine phase."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.glm.hift_source import HarmonicSource, HiFTNoise, phase_offset_for  # noqa: E402

PER_FRAME = 480


def _f0_samples(f0_frames: torch.Tensor) -> torch.Tensor:
    return f0_frames[None, :, None].repeat_interleave(PER_FRAME, dim=1)


def _silent_noise(n_samples: int) -> HiFTNoise:
    return HiFTNoise(initial_phase=torch.zeros(1, 9), sine_noise=torch.zeros(1, n_samples, 9))


@torch.inference_mode()
def test_anchored_call_continues_the_sines_of_the_previous_call() -> None:
    source = HarmonicSource(sample_rate=24000, upsample=PER_FRAME)
    f0 = 120 + 40 * torch.sin(torch.arange(60, dtype=torch.float32) / 7)
    whole = _f0_samples(f0)
    whole_phase = source.frame_phase(whole, torch.zeros(1, 9), None)
    start, anchor = 30, 8
    tail = _f0_samples(f0[start:])
    raw = source.frame_phase(tail, torch.zeros(1, 9), None)
    offset = phase_offset_for(whole_phase[:, start + anchor], raw[:, anchor], PER_FRAME)
    assert float(offset.abs().max()) < 2 * math.pi / PER_FRAME
    anchored = source.frame_phase(tail, torch.zeros(1, 9), offset)
    sample_phase_gap = (anchored[:, anchor:] - whole_phase[:, start + anchor :]) * PER_FRAME
    wrapped = torch.remainder(sample_phase_gap + math.pi, 2 * math.pi) - math.pi
    assert float(wrapped.abs().max()) < 1e-2
    sines_whole, _ = source(whole, _silent_noise(whole.shape[1]))
    sines_tail, _ = source(tail, _silent_noise(tail.shape[1]), offset)
    first = (start + anchor + 1) * PER_FRAME
    gap = (sines_tail[0, (anchor + 1) * PER_FRAME :] - sines_whole[0, first:]).abs().max()
    unanchored, _ = source(tail, _silent_noise(tail.shape[1]))
    assert (
        float(gap)
        < 1e-3
        < float((unanchored[0, (anchor + 1) * PER_FRAME :] - sines_whole[0, first:]).abs().max())
    )
