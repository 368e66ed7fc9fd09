"""Encode a stream of float chunks into a byte stream of one audio format.

Every format leaves chunk by chunk, so the first bytes go out as soon as the first audio exists:

* wav: a header with unknown length, then 16-bit PCM; raw pcm: the PCM alone;
* mp3: ``lameenc``, frame by frame;
* flac and opus (Ogg): libsndfile (``soundfile``) writing into an append-only sink. Ogg pages only ever
  grow at the end. FLAC's encoder goes back at close to fill in the STREAMINFO totals (sample count, MD5,
  frame sizes); those bytes have already been sent, so the client keeps the "unknown" values, which the
  FLAC format allows for streams. ffmpeg and players decode such a stream; libsndfile does not read a
  FLAC of unknown length, so its users should ask for wav, pcm or a non-streamed flac.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import numpy as np

from glmtts.audio import AudioFormat
from glmtts.audio.codec import soundfile_container, to_pcm16, wav_stream_header

_LOGGER = logging.getLogger(__name__)

MP3_BITRATE_KBPS = 128
#: Containers written by libsndfile through :class:`AppendOnlySink`.
_SNDFILE_FORMATS = frozenset({AudioFormat.FLAC, AudioFormat.OPUS})


class AppendOnlySink(io.RawIOBase):
    """A write-only file for libsndfile whose new bytes are handed out by :meth:`take`.

    Bytes already taken cannot be changed any more: a later write that lands before the taken mark is
    dropped (only the part past the mark is kept). Nothing already taken stays in memory.
    """

    def __init__(self) -> None:
        super().__init__()
        self._taken = 0  # absolute offset of the first byte not yet taken
        self._pending = bytearray()  # bytes from ``_taken`` on
        self._position = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        end = self._taken + len(self._pending)
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: end}[whence]
        self._position = max(0, base + offset)
        return self._position

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        size = len(chunk)
        start, end = self._position, self._position + size
        self._position = end
        if end <= self._taken:
            _LOGGER.debug("dropped a %d-byte rewrite of already sent bytes at %d", size, start)
            return size
        if start < self._taken:
            chunk, start = chunk[self._taken - start :], self._taken
        offset = start - self._taken
        if offset > len(self._pending):
            self._pending.extend(b"\0" * (offset - len(self._pending)))
        self._pending[offset : offset + len(chunk)] = chunk
        return size

    def take(self) -> bytes:
        """The bytes written since the last call; they become final."""
        data = bytes(self._pending)
        self._taken += len(data)
        self._pending.clear()
        return data


class StreamEncoder:
    """Turns float32 chunks into encoded bytes; call :meth:`encode` per chunk, then :meth:`finish`."""

    def __init__(self, audio_format: AudioFormat, sample_rate: int) -> None:
        self.audio_format = audio_format
        self.sample_rate = sample_rate
        self._started = False
        self._mp3 = self._mp3_encoder() if audio_format is AudioFormat.MP3 else None
        self._sink: AppendOnlySink | None = None
        self._sndfile: Any = None
        if audio_format in _SNDFILE_FORMATS:
            self._open_sndfile()

    def _mp3_encoder(self) -> Any:
        import lameenc

        encoder = lameenc.Encoder()
        encoder.set_bit_rate(MP3_BITRATE_KBPS)
        encoder.set_in_sample_rate(self.sample_rate)
        encoder.set_channels(1)
        encoder.set_quality(5)
        return encoder

    def _open_sndfile(self) -> None:
        import soundfile

        container, subtype = soundfile_container(self.audio_format, self.sample_rate)
        self._sink = AppendOnlySink()
        self._sndfile = soundfile.SoundFile(
            self._sink, "w", samplerate=self.sample_rate, channels=1, format=container, subtype=subtype
        )

    def encode(self, samples: np.ndarray) -> bytes:
        """Bytes to send for this chunk (may be empty while the encoder fills a frame)."""
        if self._sndfile is not None:
            return self._write_sndfile(samples)
        pcm = to_pcm16(samples)
        if self._mp3 is not None:
            return bytes(self._mp3.encode(pcm))
        if self.audio_format is AudioFormat.WAV and not self._started:
            self._started = True
            return wav_stream_header(self.sample_rate) + pcm
        return pcm

    def _write_sndfile(self, samples: np.ndarray) -> bytes:
        assert self._sink is not None
        audio = np.clip(np.asarray(samples, dtype=np.float32).ravel(), -1.0, 1.0)
        if audio.size:
            self._sndfile.write(audio)
        return self._sink.take()

    def finish(self) -> bytes:
        """The final bytes (encoder flush, or the wav header when no audio came)."""
        if self._sndfile is not None:
            assert self._sink is not None
            self._sndfile.close()
            self._sndfile = None
            return self._sink.take()
        if self._mp3 is not None:
            return bytes(self._mp3.flush())
        if self.audio_format is AudioFormat.WAV and not self._started:
            self._started = True
            return wav_stream_header(self.sample_rate)
        return b""
