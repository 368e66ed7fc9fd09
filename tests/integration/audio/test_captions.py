"""Captions: the ``timestamps`` request field, the SRT and VTT encoders (read back with real parsers) and the
timing the fake engine's chunks carry, checked against the audio it produced."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
import srt
import webvtt

from glmtts.audio import AudioChunk, AudioFormat, CaptionSegment, CaptionWord, StreamEncoder, encode_chunks
from glmtts.audio.captions import segment_cues, srt_time, vtt_time
from glmtts.engines.base import EngineConfig
from glmtts.errors import InvalidOptionError
from glmtts.synthesis import RequestDecoder, Runtime, RuntimeConfig, build_runtime
from tests.support.fake_engine import SAMPLE_RATE, FakeEngine

RATE = 24000
TEXT = "Hello world. This is a test of captions! Last one?"


def _words(text: str, offset: int, start_s: float, end_s: float) -> tuple[CaptionWord, ...]:
    pieces = text.split(" ")
    step = (end_s - start_s) / len(pieces)
    words, cursor = [], offset
    for index, piece in enumerate(pieces):
        words.append(
            CaptionWord(
                piece, cursor, cursor + len(piece), start_s + index * step, start_s + (index + 1) * step
            )
        )
        cursor += len(piece) + 1
    return tuple(words)


def _chunks() -> list[AudioChunk]:
    first = CaptionSegment("Hello <world> & co.", 0, 19, 0.0, 1.25)
    long_text = " ".join(f"word{i}" for i in range(30))
    second = CaptionSegment(
        long_text, 20, 20 + len(long_text), 1.25, 3661.5, _words(long_text, 20, 1.25, 3661.5)
    )
    silence = np.zeros(RATE // 10, dtype=np.float32)
    return [
        AudioChunk(silence, RATE, 0, captions=(first,)),
        AudioChunk(silence, RATE, 1),  # a chunk in the middle of a segment carries nothing
        AudioChunk(silence, RATE, 1, is_last=True, captions=(second,)),
    ]


def test_clock_formats() -> None:
    assert srt_time(3661.5) == "01:01:01,500" and vtt_time(3661.5) == "01:01:01.500"
    assert srt_time(0.0004) == "00:00:00,000" and vtt_time(59.9996) == "00:01:00.000"


def test_srt_parses_with_the_srt_package_and_splits_long_segments_by_words() -> None:
    text = encode_chunks(_chunks(), RATE, AudioFormat.SRT).decode("utf-8")
    cues = list(srt.parse(text))
    assert cues[0].content == "Hello <world> & co."
    assert cues[0].start.total_seconds() == 0.0 and cues[0].end.total_seconds() == 1.25
    assert len(cues) > 2  # the 30-word segment became several cues, each short enough
    assert all(len(cue.content.replace("\n", " ")) <= 84 for cue in cues)
    assert " ".join(c.content.replace("\n", " ") for c in cues[1:]) == " ".join(f"word{i}" for i in range(30))
    assert [c.index for c in cues] == list(range(1, len(cues) + 1))
    assert cues[-1].end.total_seconds() == pytest.approx(3661.5)
    starts = [c.start.total_seconds() for c in cues]
    assert starts == sorted(starts)


def test_vtt_parses_with_webvtt_py_and_escapes_markup() -> None:
    data = encode_chunks(_chunks(), RATE, AudioFormat.VTT)
    assert data.startswith(b"WEBVTT\n\n")
    captions = webvtt.from_buffer(io.StringIO(data.decode("utf-8")))
    assert captions[0].start == "00:00:00.000" and captions[0].end == "00:00:01.250"
    assert "&lt;world&gt; &amp; co." in data.decode("utf-8")
    assert captions[-1].end == "01:01:01.500"
    assert len(captions) == len(list(srt.parse(encode_chunks(_chunks(), RATE, AudioFormat.SRT).decode())))


@pytest.mark.parametrize("fmt", [AudioFormat.SRT, AudioFormat.VTT])
def test_streamed_captions_equal_the_whole_file_and_flow_per_chunk(fmt: AudioFormat) -> None:
    encoder = StreamEncoder(fmt, RATE)
    pieces = [encoder.encode(chunk) for chunk in _chunks()] + [encoder.finish()]
    assert pieces[0] and b"Hello" in pieces[0]
    assert b"".join(pieces) == encode_chunks(_chunks(), RATE, fmt)


def test_segment_without_words_stays_one_cue_and_whitespace_collapses() -> None:
    segment = CaptionSegment("a\n\nb " * 40, 0, 200, 0.0, 5.0)
    cues = segment_cues(segment)
    assert len(cues) == 1 and "\n" not in cues[0].text
    assert segment_cues(CaptionSegment("  ", 0, 2, 0.0, 1.0)) == []


def test_decoder_timestamps_field() -> None:
    decoder = RequestDecoder()
    assert decoder.options({}).timestamps == "none"
    assert decoder.options({"timestamps": "Word"}).timestamps == "word"
    assert decoder.options({"format": "srt"}).timestamps == "segment"
    assert decoder.decode({"text": "hi", "format": "vtt", "timestamps": "word"}).options.timestamps == "word"
    for bad in ({"timestamps": "chars"}, {"timestamps": 3}, {"timestamps": "none", "format": "srt"}):
        with pytest.raises(InvalidOptionError):
            decoder.options(bad)


def _runtime(**extra: object) -> Runtime:
    runtime = build_runtime(
        FakeEngine(EngineConfig(name="fake", extra=extra)), RuntimeConfig(log_requests=False)
    )
    runtime.load()
    return runtime


@pytest.fixture(scope="module")
def plain() -> Iterator[Runtime]:
    with _runtime() as runtime:
        yield runtime


def test_segment_times_match_the_audio_and_offsets_the_text(plain: Runtime) -> None:
    request = plain.decoder.decode({"text": TEXT, "timestamps": "segment"})
    result = plain.service.run(request).collect()
    segments = result.captions
    assert [TEXT[s.char_start : s.char_end] for s in segments] == [s.text for s in segments]
    assert [s.text for s in segments] == ["Hello world.", "This is a test of captions!", "Last one?"]
    boundaries = np.cumsum([0] + [len(c.samples) for c in result.chunks]) / SAMPLE_RATE
    assert [s.start_s for s in segments] == pytest.approx(boundaries[:-1].tolist())
    assert segments[-1].end_s == pytest.approx(result.samples.size / SAMPLE_RATE, abs=1 / SAMPLE_RATE)
    assert result.timestamps == "segment" and result.warnings == ()
    assert all(not s.words for s in segments)


def test_word_timestamps_fall_back_to_segments_with_a_warning(plain: Runtime) -> None:
    result = plain.service.run(plain.decoder.decode({"text": TEXT, "timestamps": "word"})).collect()
    assert result.timestamps == "segment" and "cannot time words" in result.warnings[0]
    assert len(result.captions) == 3 and all(not s.words for s in result.captions)


def test_no_timestamps_no_captions_same_audio(plain: Runtime) -> None:
    timed = plain.service.run(plain.decoder.decode({"text": TEXT, "timestamps": "segment"})).collect()
    bare = plain.service.run(plain.decoder.decode({"text": TEXT})).collect()
    assert bare.captions == () and bare.timestamps == "none"
    np.testing.assert_array_equal(bare.samples, timed.samples)


def test_word_times_are_monotonic_and_inside_their_segment() -> None:
    with _runtime(word_timing=True) as runtime:
        result = runtime.service.run(runtime.decoder.decode({"text": TEXT, "timestamps": "word"})).collect()
    assert result.timestamps == "word" and result.warnings == ()
    for segment in result.captions:
        assert [w.text for w in segment.words] == segment.text.split()
        times = [t for w in segment.words for t in (w.start_s, w.end_s)]
        assert times == sorted(times)
        assert segment.start_s <= times[0] and times[-1] <= segment.end_s + 1e-9
        assert all(TEXT[w.char_start : w.char_end] == w.text for w in segment.words)
