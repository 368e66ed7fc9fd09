"""One encoder per output format, each writing mono float32 chunks into a binary sink.

An encoder writes as audio arrives and, at :meth:`Encoder.close`, finishes the file: into a seekable file
(a whole download, a file on disk) it also goes back to fill in the totals a header holds; into an
:class:`~glmtts.audio.sinks.AppendOnlySink` (a stream) those rewrites are dropped and the header keeps its
"unknown length" values. The bytes of the audio itself are the same either way.

* wav: 16-bit PCM after a 44-byte header; pcm: the PCM alone (little-endian int16);
* mp3: ``lameenc`` (LAME), frame by frame;
* flac and opus (in Ogg): libsndfile (``soundfile``);
* aac (ADTS frames): FFmpeg's native AAC encoder through PyAV;
* srt and vtt: captions, written cue by cue as the chunks carrying their timing arrive
  (:mod:`glmtts.audio.captions`); the samples are not read.
"""

from __future__ import annotations

import abc
import struct
from typing import IO, Any, ClassVar

import numpy as np

from glmtts.audio import captions
from glmtts.audio.chunk import AudioChunk
from glmtts.audio.formats import AudioFormat
from glmtts.errors import UnsupportedFormatError

MP3_BITRATE_KBPS = 128
AAC_BITRATE_BPS = 96_000
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
_WAV_HEADER_BYTES = 44
_UNKNOWN_SIZE = 0xFFFFFFFF


def to_pcm16(samples: np.ndarray) -> bytes:
    """Little-endian signed 16-bit PCM bytes of float samples (clipped to [-1, 1])."""
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    return (clipped * 32767.0).round().astype("<i2").tobytes()


def _clipped(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(samples, dtype=np.float32).ravel(), -1.0, 1.0)


class Encoder(abc.ABC):
    """Writes the chunks of one utterance into ``sink`` in one format; :meth:`close` finishes the file."""

    audio_format: ClassVar[AudioFormat]

    def __init__(self, sink: IO[bytes], sample_rate: int) -> None:
        self.sink = sink
        self.sample_rate = int(sample_rate)

    @abc.abstractmethod
    def write(self, chunk: AudioChunk) -> None:
        """Encode one chunk (it may be buffered until a frame is full)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Flush what is buffered and finish the file (the sink stays open)."""


class PcmEncoder(Encoder):
    audio_format = AudioFormat.PCM

    def write(self, chunk: AudioChunk) -> None:
        self.sink.write(to_pcm16(chunk.samples))

    def close(self) -> None:
        return None


def wav_header(sample_rate: int, data_bytes: int = _UNKNOWN_SIZE) -> bytes:
    """A mono 16-bit PCM WAV header; the default sizes mean "unknown length" (a stream)."""
    riff_size = _UNKNOWN_SIZE if data_bytes == _UNKNOWN_SIZE else 36 + data_bytes
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


class WavEncoder(Encoder):
    """16-bit PCM WAV; the header's sizes are filled in at close when the sink can go back."""

    audio_format = AudioFormat.WAV

    def __init__(self, sink: IO[bytes], sample_rate: int) -> None:
        super().__init__(sink, sample_rate)
        self._data_bytes = 0
        self._started = False
        self._start = 0

    def _begin(self) -> None:
        if not self._started:
            self._started = True
            self._start = self.sink.tell() if self.sink.seekable() else 0
            self.sink.write(wav_header(self.sample_rate))

    def write(self, chunk: AudioChunk) -> None:
        self._begin()
        pcm = to_pcm16(chunk.samples)
        self._data_bytes += len(pcm)
        self.sink.write(pcm)

    def close(self) -> None:
        self._begin()
        if self.sink.seekable():
            end = self.sink.tell()
            self.sink.seek(self._start)
            self.sink.write(wav_header(self.sample_rate, self._data_bytes))
            self.sink.seek(end)


class Mp3Encoder(Encoder):
    """MPEG-1/2 layer III at 128 kb/s by LAME (``lameenc``)."""

    audio_format = AudioFormat.MP3

    def __init__(self, sink: IO[bytes], sample_rate: int) -> None:
        super().__init__(sink, sample_rate)
        import lameenc

        self._lame = lameenc.Encoder()
        self._lame.set_bit_rate(MP3_BITRATE_KBPS)
        self._lame.set_in_sample_rate(self.sample_rate)
        self._lame.set_channels(1)
        self._lame.set_quality(5)

    def write(self, chunk: AudioChunk) -> None:
        self.sink.write(bytes(self._lame.encode(to_pcm16(chunk.samples))))

    def close(self) -> None:
        self.sink.write(bytes(self._lame.flush()))


class _SndfileEncoder(Encoder):
    """A container libsndfile writes (it seeks back at close to fill in totals where it can)."""

    container: ClassVar[str]
    subtype: ClassVar[str]

    def __init__(self, sink: IO[bytes], sample_rate: int) -> None:
        super().__init__(sink, sample_rate)
        import soundfile

        self._file: Any = soundfile.SoundFile(
            sink, "w", samplerate=self.sample_rate, channels=1, format=self.container, subtype=self.subtype
        )

    def write(self, chunk: AudioChunk) -> None:
        audio = _clipped(chunk.samples)
        if audio.size:
            self._file.write(audio)

    def close(self) -> None:
        self._file.close()


class FlacEncoder(_SndfileEncoder):
    audio_format = AudioFormat.FLAC
    container, subtype = "FLAC", "PCM_16"


class OpusEncoder(_SndfileEncoder):
    audio_format = AudioFormat.OPUS
    container, subtype = "OGG", "OPUS"

    def __init__(self, sink: IO[bytes], sample_rate: int) -> None:
        if sample_rate not in OPUS_RATES:
            raise UnsupportedFormatError(
                f"opus needs one of the sample rates {OPUS_RATES}, got {sample_rate}"
            )
        super().__init__(sink, sample_rate)


class AacEncoder(Encoder):
    """AAC-LC in ADTS frames (what OpenAI's ``aac`` is), by FFmpeg's native encoder through PyAV."""

    audio_format = AudioFormat.AAC

    def __init__(self, sink: IO[bytes], sample_rate: int) -> None:
        super().__init__(sink, sample_rate)
        import av

        self._av = av
        self._container: Any = av.open(sink, mode="w", format="adts")
        self._stream: Any = self._container.add_stream("aac", rate=self.sample_rate, layout="mono")
        self._stream.bit_rate = AAC_BITRATE_BPS
        self._fifo: Any = av.AudioFifo()

    def _mux(self, frame: Any) -> None:
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def write(self, chunk: AudioChunk) -> None:
        audio = _clipped(chunk.samples)
        if not audio.size:
            return
        frame = self._av.AudioFrame.from_ndarray(audio.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = self.sample_rate
        self._fifo.write(frame)
        frame_size = self._stream.codec_context.frame_size or 1024
        while (full := self._fifo.read(frame_size)) is not None:
            self._mux(full)

    def close(self) -> None:
        rest = self._fifo.read()
        if rest is not None:
            self._mux(rest)
        self._mux(None)
        self._container.close()


class SrtEncoder(Encoder):
    """SubRip captions (UTF-8): numbered cues, ``HH:MM:SS,mmm`` times."""

    audio_format = AudioFormat.SRT

    def __init__(self, sink: IO[bytes], sample_rate: int) -> None:
        super().__init__(sink, sample_rate)
        self._n_cues = 0

    def write(self, chunk: AudioChunk) -> None:
        for segment in chunk.captions:
            for cue in captions.segment_cues(segment):
                self._n_cues += 1
                self.sink.write(captions.srt_block(self._n_cues, cue).encode("utf-8"))

    def close(self) -> None:
        return None


class VttEncoder(Encoder):
    """WebVTT captions (UTF-8): the ``WEBVTT`` header, then cues with ``HH:MM:SS.mmm`` times."""

    audio_format = AudioFormat.VTT

    def __init__(self, sink: IO[bytes], sample_rate: int) -> None:
        super().__init__(sink, sample_rate)
        self._started = False

    def _begin(self) -> None:
        if not self._started:
            self._started = True
            self.sink.write(captions.VTT_HEADER.encode("utf-8"))

    def write(self, chunk: AudioChunk) -> None:
        self._begin()
        for segment in chunk.captions:
            for cue in captions.segment_cues(segment):
                self.sink.write(captions.vtt_block(cue).encode("utf-8"))

    def close(self) -> None:
        self._begin()


ENCODERS: dict[AudioFormat, type[Encoder]] = {
    cls.audio_format: cls
    for cls in (
        WavEncoder,
        PcmEncoder,
        Mp3Encoder,
        FlacEncoder,
        OpusEncoder,
        AacEncoder,
        SrtEncoder,
        VttEncoder,
    )
}
