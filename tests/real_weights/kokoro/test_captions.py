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


# -- words -------------------------------------------------------------------------------------------
WORD_TEXTS = {
    "english": "The quick brown fox, who was very hungry, jumped over the lazy dog; then it slept. Good night!",
    "chinese": "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。今天是2025年5月1日，天气很好。",
    "mixed": "我用Python写了3个API，好吗？Then we went home at 9:30pm, tired but happy.",
}
WORD_RUNS = [(name, 1.0) for name in WORD_TEXTS] + [("english", 1.5), ("chinese", 1.5)]
MARKS = set(",.!?;:，。！？；：、")


@pytest.fixture(scope="module", params=WORD_RUNS, ids=[f"{name}-x{speed}" for name, speed in WORD_RUNS])
def word_run(
    request: pytest.FixtureRequest, kokoro: KokoroEngine
) -> tuple[str, list[AudioChunk], np.ndarray]:
    name, speed = request.param
    text = WORD_TEXTS[name]
    options = SynthesisOptions(speed=speed, timestamps="word")
    chunks = list(kokoro.stream(text, kokoro.builtin_voice(), options))
    return text, chunks, np.concatenate([chunk.samples for chunk in chunks])


def test_words_are_in_order_inside_their_segment_and_show_the_original(
    kokoro: KokoroEngine, word_run
) -> None:
    text, chunks, audio = word_run
    covered: set[int] = set()
    previous_end = 0.0
    for caption in _captions(chunks):
        assert caption.words, caption.text
        for word in caption.words:
            assert caption.start_s <= word.start_s < word.end_s <= caption.end_s, (caption.text, word)
            assert word.start_s >= previous_end, word
            assert caption.char_start <= word.char_start < word.char_end <= caption.char_end
            assert text[word.char_start : word.char_end] == word.text == word.text.strip()
            covered.update(range(word.char_start, word.char_end))
            previous_end = word.end_s
    spoken = {i for i, char in enumerate(text) if char.isalnum()}
    assert spoken <= covered, [text[i] for i in sorted(spoken - covered)]
    assert abs(previous_end - audio.size / kokoro.sample_rate) <= FRAME_S  # the last word ends with the audio


def test_words_next_to_a_pause_end_and_start_at_its_edges_in_the_waveform(
    kokoro: KokoroEngine, word_run
) -> None:
    """For each mark the model paused at (a silent gap of the waveform between the words around it), the
    word before ends at the gap's start and the word after starts at its end."""
    text, chunks, audio = word_run
    words = [word for caption in _captions(chunks) for word in caption.words]
    gaps = silent_gaps(audio, kokoro.sample_rate)
    checked = 0
    for before, after in itertools.pairwise(words):
        if not MARKS & set(text[before.char_end : after.char_start]):
            continue
        inside = [g for g in gaps if before.start_s <= g[0] and g[1] <= after.end_s]
        if not inside:
            continue  # the model ran on over this mark
        gap = max(inside, key=lambda g: g[1] - g[0])
        assert abs(before.end_s - gap[0]) <= TOLERANCE_S, (before, gap)
        assert abs(after.start_s - gap[1]) <= TOLERANCE_S, (after, gap)
        checked += 1
    assert checked >= 2


def test_a_number_word_maps_back_to_its_digits(kokoro: KokoroEngine) -> None:
    """ "2025年" is read 二零二五年: its word shows the characters the user wrote."""
    text = "今天是2025年5月1日。"
    chunks = list(kokoro.stream(text, kokoro.builtin_voice(), SynthesisOptions(timestamps="word")))
    words = [word.text for caption in _captions(chunks) for word in caption.words]
    assert "2025" in "".join(w for w in words if "2" in w) and words[:3] == ["今", "天", "是"]
    assert words[-1] == "日" and all("二" not in w and "零" not in w for w in words)


def test_words_leave_out_the_quotes_the_normalizer_dropped(kokoro: KokoroEngine) -> None:
    text = "他说：“我不知道。”然后就走了。"
    chunks = list(kokoro.stream(text, kokoro.builtin_voice(), SynthesisOptions(timestamps="word")))
    words = [word.text for caption in _captions(chunks) for word in caption.words]
    assert "".join(words) == "他说我不知道然后就走了" and "我" in words


def test_adapted_voice_words_still_end_with_the_audio(kokoro: KokoroEngine) -> None:
    """An adapted voice is resynthesized with WORLD after rendering; the word timing survives it."""
    reference = kokoro.synthesize("我们一起去公园散步。", kokoro.builtin_voice("alpha"), SynthesisOptions())
    voice = kokoro.prepare_voice(reference, kokoro.sample_rate)
    text = "Hello there, my friend. We went home."
    chunks = list(kokoro.stream(text, voice, SynthesisOptions(timestamps="word")))
    audio = np.concatenate([chunk.samples for chunk in chunks])
    words = [word for caption in _captions(chunks) for word in caption.words]
    assert [w.text for w in words] == ["Hello", "there", "my", "friend", "We", "went", "home"]
    assert abs(words[-1].end_s - audio.size / kokoro.sample_rate) <= FRAME_S
    gap = max(silent_gaps(audio, kokoro.sample_rate), key=lambda g: g[1] - g[0])  # after "friend."
    assert abs(words[3].end_s - gap[0]) <= TOLERANCE_S and abs(words[4].start_s - gap[1]) <= TOLERANCE_S


def test_word_captions_parse_as_srt_and_vtt(kokoro: KokoroEngine) -> None:
    """A segment longer than a cue is split between its timed words; both files parse and keep times."""
    import io

    import srt
    import webvtt

    from glmtts.audio.captions import MAX_CUE_CHARS, srt_text, vtt_text

    text = WORD_TEXTS["english"] * 2
    chunks = list(kokoro.stream(text, kokoro.builtin_voice(), SynthesisOptions(timestamps="word")))
    captions = _captions(chunks)
    assert any(len(c.text) > MAX_CUE_CHARS for c in captions)
    cues = list(srt.parse(srt_text(captions)))
    vtt = webvtt.from_buffer(io.StringIO(vtt_text(captions)))
    assert len(cues) == len(vtt.captions) > len(captions)
    words = [w for c in captions for w in c.words]
    starts = np.array([w.start_s for w in words])
    assert all(np.min(np.abs(starts - cue.start.total_seconds())) <= 0.001 for cue in cues)
    assert [" ".join(c.content.split()) for c in cues] == [" ".join(c.text.split()) for c in vtt.captions]
