"""Encoding entry points over the one encoder registry: a stream of bytes, a whole file, a file on disk.

Every output of glmtts goes through :func:`open_encoder`. A whole file is the stream drained into a
seekable buffer (:func:`encode_audio`), so a download, a streamed response, a batch output and a CLI file
carry the same audio bytes for the same chunks.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import numpy as np

from glmtts.atomic import atomic_write
from glmtts.audio.chunk import AudioChunk
from glmtts.audio.encoders import ENCODERS, Encoder
from glmtts.audio.formats import AudioFormat, parse_format
from glmtts.audio.sinks import AppendOnlySink
from glmtts.errors import UnsupportedFormatError


def register_encoder(encoder: type[Encoder]) -> None:
    """Add (or replace) the encoder of ``encoder.audio_format``."""
    ENCODERS[encoder.audio_format] = encoder


def open_encoder(audio_format: AudioFormat | str, sink: IO[bytes], sample_rate: int) -> Encoder:
    """The encoder of ``audio_format`` writing into ``sink``."""
    fmt = parse_format(audio_format)
    try:
        encoder_class = ENCODERS[fmt]
    except KeyError:
        raise UnsupportedFormatError(f"no encoder for {fmt.value}") from None
    return encoder_class(sink, sample_rate)


class StreamEncoder:
    """Chunks in, bytes out as soon as they are final: :meth:`encode` per chunk, then :meth:`finish`."""

    def __init__(self, audio_format: AudioFormat | str, sample_rate: int) -> None:
        self.audio_format = parse_format(audio_format)
        self.sample_rate = int(sample_rate)
        self._sink = AppendOnlySink()
        self._encoder = open_encoder(self.audio_format, self._sink, self.sample_rate)  # type: ignore[arg-type]

    def encode(self, chunk: AudioChunk | np.ndarray) -> bytes:
        """The bytes to send for this chunk (may be empty while the encoder fills a frame)."""
        self._encoder.write(_as_chunk(chunk, self.sample_rate))
        return self._sink.take()

    def finish(self) -> bytes:
        """The last bytes (encoder flush; a header alone when no audio came)."""
        self._encoder.close()
        return self._sink.take()


def _as_chunk(chunk: AudioChunk | np.ndarray, sample_rate: int) -> AudioChunk:
    if isinstance(chunk, AudioChunk):
        return chunk
    return AudioChunk(np.asarray(chunk, dtype=np.float32), sample_rate)


def encode_chunks(
    chunks: Iterable[AudioChunk | np.ndarray], sample_rate: int, audio_format: AudioFormat | str
) -> bytes:
    """A complete file of ``audio_format``: the chunks drained through its encoder into memory."""
    buffer = io.BytesIO()
    encoder = open_encoder(audio_format, buffer, sample_rate)
    for chunk in chunks:
        encoder.write(_as_chunk(chunk, sample_rate))
    encoder.close()
    return buffer.getvalue()


def encode_audio(
    samples: np.ndarray, sample_rate: int, audio_format: AudioFormat | str = AudioFormat.WAV
) -> bytes:
    """Encode mono float32 samples into a complete file of the given format."""
    return encode_chunks([samples], sample_rate, audio_format)


def format_for_path(path: str | Path, audio_format: AudioFormat | str | None = None) -> AudioFormat:
    """``audio_format`` if given, else the file suffix's format, else wav."""
    if audio_format is not None:
        return parse_format(audio_format)
    suffix = Path(path).suffix.lstrip(".")
    return parse_format(suffix) if suffix else AudioFormat.WAV


def write_chunks(
    path: str | Path,
    chunks: Iterable[AudioChunk | np.ndarray],
    sample_rate: int,
    audio_format: AudioFormat | str | None = None,
    *,
    fsync: bool = True,
    flush_each: bool = False,
) -> int:
    """Encode chunks into ``path`` as they arrive (atomically: nothing is at ``path`` until the end).

    The format defaults to the file suffix. ``flush_each`` flushes the file after every chunk. Returns the
    number of samples written.
    """
    fmt = format_for_path(path, audio_format)
    n_samples = 0
    with atomic_write(path, fsync=fsync) as handle:
        encoder = open_encoder(fmt, handle, sample_rate)
        for chunk in chunks:
            piece = _as_chunk(chunk, sample_rate)
            encoder.write(piece)
            n_samples += len(piece.samples)
            if flush_each:
                handle.flush()
        encoder.close()
    return n_samples


def write_audio(
    path: str | Path,
    samples: np.ndarray,
    sample_rate: int,
    audio_format: AudioFormat | str | None = None,
    *,
    fsync: bool = True,
) -> Path:
    """Write a whole file atomically; the format defaults to the file suffix."""
    write_chunks(path, [samples], sample_rate, audio_format, fsync=fsync)
    return Path(path)
