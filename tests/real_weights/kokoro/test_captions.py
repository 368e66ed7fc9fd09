"""Kokoro caption timing checked against the audio: segment boundaries sit on the pauses in the waveform."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from glmtts.audio.chunk import AudioChunk, CaptionSegment
from glmtts.engines.base import SynthesisOptions
from glmtts.engines.kokoro.engine import KokoroEngine

TEXT = (
    "Hi. Today is May 1st, 2025, and we read a short story about a cat named Tom and his friends. "
    "今天是2025年5月1日，天气很好，我们一起去公园散步，然后去吃饭。"
    "Then we went home at 9:30pm, tired but happy after a long day. 明天见！"
)
FRAME_S = 0.005
TOLERANCE_S = 0.040


def silent_gaps(audio: np.ndarray, sample_rate: int, min_gap_s: float = 0.08) -> list[tuple[float, float]]:
    """``(start_s, end_s)`` of the runs of 5 ms frames quieter than -50 dBFS lasting ``min_gap_s`` or more."""
    frame = int(FRAME_S * sample_rate)
    n_frames = audio.size // frame
    power = np.mean(np.square(audio[: n_frames * frame].reshape(n_frames, frame), dtype=np.float64), axis=1)
    quiet = 10 * np.log10(power + 1e-20) < -50.0
    gaps, index = [], 0
    while index < n_frames:
        if not quiet[index]:
            index += 1
            continue
        end = index
        while end < n_frames and quiet[end]:
            end += 1
        if (end - index) * FRAME_S >= min_gap_s:
            gaps.append((index * FRAME_S, end * FRAME_S))
        index = end
    return gaps


def _captions(chunks: list[AudioChunk]) -> list[CaptionSegment]:
    return [caption for chunk in chunks for caption in chunk.captions]


@pytest.fixture(scope="module", params=[1.0, 1.4], ids=["speed1", "speed1.4"])
def run(request: pytest.FixtureRequest, kokoro: KokoroEngine) -> tuple[list[AudioChunk], np.ndarray, float]:
    chunks = list(kokoro.stream(TEXT, kokoro.builtin_voice(), SynthesisOptions(speed=request.param)))
    return chunks, np.concatenate([chunk.samples for chunk in chunks]), request.param


def test_one_caption_per_segment_showing_the_original_text(kokoro: KokoroEngine, run) -> None:
    chunks, _, _ = run
    captions = _captions(chunks)
    n_segments = len(kokoro.text_frontend.analyze(TEXT).segments)
    assert len(captions) == n_segments >= 3
    assert "".join(caption.text for caption in captions).replace(" ", "") == TEXT.replace(" ", "")
    assert all(TEXT[c.char_start : c.char_end] == c.text for c in captions)
    assert captions[0].text.startswith(
        "Hi. Today is May 1st, 2025,"
    )  # the first sentence is a chunk of its own
    assert len(chunks) > n_segments


def test_segment_boundaries_sit_on_the_pauses_of_the_waveform(kokoro: KokoroEngine, run) -> None:
    chunks, audio, _ = run
    captions = _captions(chunks)
    gaps = silent_gaps(audio, kokoro.sample_rate)
    for before, after in itertools.pairwise(captions):
        assert before.end_s < after.start_s
        gap = min(gaps, key=lambda g: abs(g[0] - before.end_s))
        assert abs(gap[0] - before.end_s) <= TOLERANCE_S, (before.text, gap, before.end_s)
        assert abs(gap[1] - after.start_s) <= TOLERANCE_S, (after.text, gap, after.start_s)
    assert abs(captions[-1].end_s - audio.size / kokoro.sample_rate) <= FRAME_S
    assert captions[0].start_s <= TOLERANCE_S


def test_a_caption_rides_on_the_chunk_where_its_audio_ends(kokoro: KokoroEngine, run) -> None:
    chunks, _, _ = run
    position = 0
    for chunk in chunks:
        start = position / kokoro.sample_rate
        position += chunk.samples.size
        for caption in chunk.captions:
            assert start <= caption.end_s <= position / kokoro.sample_rate


def test_audio_does_not_depend_on_timestamps(kokoro: KokoroEngine, run) -> None:
    _, audio, speed = run
    options = SynthesisOptions(speed=speed, timestamps="none")
    chunks = list(kokoro.stream(TEXT, kokoro.builtin_voice(), options))
    assert all(chunk.captions == () for chunk in chunks)
    np.testing.assert_array_equal(np.concatenate([chunk.samples for chunk in chunks]), audio)
