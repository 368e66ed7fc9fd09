"""Encode a stream of float chunks into a byte stream of one audio format.

wav (header with unknown length, then PCM), raw pcm and mp3 (``lameenc``) are encoded chunk by chunk, so the
first bytes leave as soon as the first audio exists. flac and opus containers need the whole signal for a
valid file here, so they are produced once, at the end of the stream.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glmtts.audio import AudioFormat, encode_audio
from glmtts.audio.codec import to_pcm16, wav_stream_header

#: Formats whose bytes flow as the audio is made.
INCREMENTAL_FORMATS = frozenset({AudioFormat.WAV, AudioFormat.PCM, AudioFormat.MP3})
MP3_BITRATE_KBPS = 128


class StreamEncoder:
    """Turns float32 chunks into encoded bytes; call :meth:`encode` per chunk, then :meth:`finish`."""

    def __init__(self, audio_format: AudioFormat, sample_rate: int) -> None:
        self.audio_format = audio_format
        self.sample_rate = sample_rate
        self._started = False
        self._pending: list[np.ndarray] = []
        self._mp3 = self._mp3_encoder() if audio_format is AudioFormat.MP3 else None

    def _mp3_encoder(self) -> Any:
        import lameenc

        encoder = lameenc.Encoder()
        encoder.set_bit_rate(MP3_BITRATE_KBPS)
        encoder.set_in_sample_rate(self.sample_rate)
        encoder.set_channels(1)
        encoder.set_quality(5)
        return encoder

    @property
    def incremental(self) -> bool:
        return self.audio_format in INCREMENTAL_FORMATS

    def encode(self, samples: np.ndarray) -> bytes:
        """Bytes to send for this chunk (may be empty)."""
        if not self.incremental:
            self._pending.append(np.asarray(samples, dtype=np.float32))
            return b""
        pcm = to_pcm16(samples)
        if self._mp3 is not None:
            return bytes(self._mp3.encode(pcm))
        if self.audio_format is AudioFormat.WAV and not self._started:
            self._started = True
            return wav_stream_header(self.sample_rate) + pcm
        return pcm

    def finish(self) -> bytes:
        """The final bytes (mp3 flush, or the whole flac/opus file)."""
        if self._mp3 is not None:
            return bytes(self._mp3.flush())
        if self.audio_format is AudioFormat.WAV and not self._started:
            self._started = True
            return wav_stream_header(self.sample_rate)
        if self.incremental:
            return b""
        samples = np.concatenate(self._pending) if self._pending else np.zeros(0, dtype=np.float32)
        return encode_audio(samples, self.sample_rate, self.audio_format)
