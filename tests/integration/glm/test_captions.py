"""glm caption timing on the tiny checkpoint: segments are exact sample sums, streamed and one-shot."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.base import SynthesisOptions, Voice  # noqa: E402
from tests.conftest import harmonic_tone  # noqa: E402

TEXT = "今天是2025年5月1日，天气很好，我们一起去公园散步吧！然后去吃饭。明天见。"


@pytest.fixture(scope="module")
def voice(glm_engine) -> Voice:
    return glm_engine.prepare_voice(harmonic_tone(2.5, 24000, f0_hz=180.0), 24000, "今天天气很好。")


def _run(engine, voice: Voice, **options):
    return list(engine.stream(TEXT, voice, SynthesisOptions(seed=3, **options)))


@pytest.mark.parametrize("stream", [False, True])
def test_segments_are_exact_sample_sums(glm_engine, voice, stream: bool) -> None:
    chunks = _run(glm_engine, voice, stream=stream)
    rate = glm_engine.sample_rate
    captions = [caption for chunk in chunks for caption in chunk.captions]
    assert len(captions) >= 2
    assert captions[0].start_s == 0.0
    for before, after in itertools.pairwise(captions):
        assert after.start_s == before.end_s  # glm joins segments with nothing between them
    total = sum(chunk.samples.size for chunk in chunks)
    assert captions[-1].end_s == total / rate
    # each caption rides on the chunk where its audio ends: the samples up to that chunk
    position = 0
    for chunk in chunks:
        position += chunk.samples.size
        for caption in chunk.captions:
            assert caption.end_s == position / rate
            assert caption.words == ()
    # spans are the original text, in order, covering it
    assert "".join(caption.text for caption in captions) == TEXT
    assert captions[0].text.startswith("今天是2025年5月1日")


def test_streamed_segment_spans_several_chunks(glm_engine, voice) -> None:
    chunks = _run(glm_engine, voice, stream=True)
    assert len(chunks) > sum(len(chunk.captions) for chunk in chunks)  # more chunks than segments


def test_audio_does_not_depend_on_timestamps(glm_engine, voice) -> None:
    for stream in (False, True):
        with_captions = np.concatenate([c.samples for c in _run(glm_engine, voice, stream=stream)])
        without = _run(glm_engine, voice, stream=stream, timestamps="none")
        assert all(chunk.captions == () for chunk in without)
        np.testing.assert_array_equal(with_captions, np.concatenate([c.samples for c in without]))


def test_glm_cannot_time_words(glm_engine) -> None:
    assert glm_engine.capabilities().word_timestamps is False
