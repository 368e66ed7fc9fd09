"""Chunk-by-chunk encoding of every response format: bytes flow per chunk and the result decodes."""

from __future__ import annotations

import numpy as np
import pytest

from glmtts.audio import AudioFormat, StreamEncoder
from glmtts.audio.sinks import AppendOnlySink
from glmtts.errors import UnsupportedFormatError
from tests.support.serving.audio_checks import (
    decode,
    decode_streamed_wav,
    decode_with_ffmpeg,
    dominant_hz,
    level_dbfs,
)

RATE = 24_000


def _chunks(n: int = 6, seconds: float = 0.5, f0_hz: float = 330.0) -> list[np.ndarray]:
    t = np.arange(int(n * seconds * RATE)) / RATE
    signal = (0.3 * np.sin(2 * np.pi * f0_hz * t)).astype(np.float32)
    return np.array_split(signal, n)


def _encode(fmt: AudioFormat, chunks: list[np.ndarray]) -> list[bytes]:
    encoder = StreamEncoder(fmt, RATE)
    return [encoder.encode(chunk) for chunk in chunks] + [encoder.finish()]


@pytest.mark.parametrize("fmt", AudioFormat.audio_formats())
def test_bytes_flow_before_the_last_chunk_and_decode_to_the_signal(fmt: AudioFormat) -> None:
    chunks = _chunks()
    pieces = _encode(fmt, chunks)
    before_last = b"".join(pieces[: len(chunks) // 2])
    assert len(before_last) > 0.2 * len(b"".join(pieces)), [len(p) for p in pieces]
    data = b"".join(pieces)
    if fmt is AudioFormat.PCM:
        samples = np.frombuffer(data, "<i2").astype(np.float32) / 32767
    elif fmt is AudioFormat.WAV:
        samples = decode_streamed_wav(data)
    elif fmt is AudioFormat.FLAC:
        samples = decode_with_ffmpeg(data)  # libsndfile cannot read a FLAC stream of unknown length
    else:
        samples, rate = decode(data)
        assert rate == RATE
    expected = np.concatenate(chunks)
    # AAC in ADTS carries its encoder delay (1024 samples) and pads the last frame: no edit list to trim them
    slack_s = 0.1 if fmt is AudioFormat.AAC else 0.05
    assert abs(samples.size - expected.size) < slack_s * RATE
    assert abs(dominant_hz(samples, RATE) - 330.0) < 3.0
    assert abs(level_dbfs(samples) - level_dbfs(expected)) < 1.5


def test_streamed_flac_is_lossless_and_keeps_unknown_totals() -> None:
    chunks = _chunks()
    data = b"".join(_encode(AudioFormat.FLAC, chunks))
    assert data[:4] == b"fLaC"
    samples = decode_with_ffmpeg(data)
    expected = np.round(np.concatenate(chunks) * 32767) / 32767
    np.testing.assert_allclose(samples, expected, atol=1.0 / 32767)


@pytest.mark.parametrize("fmt", [AudioFormat.FLAC, AudioFormat.OPUS])
def test_ffmpeg_reads_the_streamed_containers_without_errors(fmt: AudioFormat) -> None:
    samples = decode_with_ffmpeg(b"".join(_encode(fmt, _chunks())))
    assert abs(samples.size / RATE - 3.0) < 0.05 and abs(dominant_hz(samples, RATE) - 330.0) < 3.0


def test_sink_hands_out_bytes_once_and_ignores_rewrites_of_sent_bytes() -> None:
    sink = AppendOnlySink()
    sink.write(b"header--")
    assert sink.take() == b"header--" and sink.take() == b""
    sink.write(b"body")
    sink.seek(0)
    sink.write(b"HEAD")  # lands entirely in already sent bytes: dropped
    sink.seek(6)
    sink.write(b"XXyy")  # straddles the mark (8): only the part past it is kept, over "bo"
    assert sink.take() == b"yydy"
    assert sink.tell() == 10


def test_opus_refuses_rates_the_codec_cannot_take() -> None:
    with pytest.raises(UnsupportedFormatError):
        StreamEncoder(AudioFormat.OPUS, 22_050)
