"""What the synthesis service streams: typed events, consumed from sync or async code.

A request's stream is its :class:`~glmtts.audio.AudioChunk` objects as the engine produces them, then one
:class:`Summary` (sample rate, seconds of audio, where the time went). :meth:`SynthesisStream.encoded`
turns the events into the bytes of one format as they become final; :meth:`SynthesisStream.collect`
drains it into a :class:`Synthesis`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glmtts.audio import (
    AudioChunk,
    AudioFormat,
    CaptionSegment,
    StreamEncoder,
    encode_chunks,
    write_chunks,
)
from glmtts.synthesis.bridge import ChunkStream


@dataclass(frozen=True)
class Timings:
    """Where the time of one request went (seconds; ``first_audio_s`` and ``total_s`` from enqueue).

    ``continuity`` is the share of chunks after the first that were ready before the audio ahead of them
    had finished playing (see :class:`PlaybackClock`); 1.0 for a single chunk.
    """

    queue_wait_s: float = 0.0
    voice_s: float = 0.0
    first_audio_s: float = 0.0
    synth_s: float = 0.0
    total_s: float = 0.0
    voice_cached: bool = False
    n_chunks: int = 0
    continuity: float = 1.0


class PlaybackClock:
    """Streaming continuity of one request: chunk arrival times against the audio already delivered.

    Playback starts when the first chunk arrives and plays without pause; chunk ``k`` is on time when it
    arrives no later than the moment chunks ``0..k-1`` finish playing (arrival ≤ first arrival + their
    duration). A listener hears a gap for every late chunk.
    """

    def __init__(self) -> None:
        self.n_chunks = 0
        self.n_on_time = 0
        self.first_arrival: float | None = None
        self._delivered_s = 0.0

    def arrive(self, duration_s: float, now: float) -> None:
        """Record a chunk of ``duration_s`` seconds arriving at monotonic time ``now``."""
        if self.first_arrival is None:
            self.first_arrival = now
        elif now <= self.first_arrival + self._delivered_s:
            self.n_on_time += 1
        self._delivered_s += duration_s
        self.n_chunks += 1

    @property
    def audio_s(self) -> float:
        return self._delivered_s

    @property
    def continuity(self) -> float:
        return self.n_on_time / (self.n_chunks - 1) if self.n_chunks > 1 else 1.0


@dataclass(frozen=True)
class Summary:
    """The last event of a request's stream."""

    sample_rate: int
    audio_s: float
    timings: Timings

    @property
    def rtf(self) -> float:
        """Synthesis seconds per second of audio."""
        return self.timings.synth_s / self.audio_s if self.audio_s > 0 else 0.0


SynthesisEvent = AudioChunk | Summary


@dataclass(frozen=True)
class Synthesis:
    """A finished request: its chunks and summary, the caption timing level its chunks carry and the
    warnings about how the request was served (e.g. word timestamps that fell back to segments)."""

    chunks: tuple[AudioChunk, ...] = field(repr=False)
    summary: Summary
    timestamps: str = "none"
    warnings: tuple[str, ...] = ()

    @property
    def captions(self) -> tuple[CaptionSegment, ...]:
        """Every caption segment of the utterance, in order."""
        return tuple(segment for chunk in self.chunks for segment in chunk.captions)

    @property
    def sample_rate(self) -> int:
        return self.summary.sample_rate

    @property
    def samples(self) -> np.ndarray:
        """The whole utterance (the concatenated chunks)."""
        if not self.chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate([chunk.samples for chunk in self.chunks]).astype(np.float32, copy=False)

    @property
    def duration_s(self) -> float:
        return self.summary.audio_s

    def encode(self, audio_format: AudioFormat | str) -> bytes:
        """A complete file of ``audio_format`` (the same bytes a streamed response of it carries)."""
        return encode_chunks(self.chunks, self.sample_rate, audio_format)

    def save(self, path: str | Path, audio_format: AudioFormat | str | None = None) -> Path:
        """Write a file (atomically); the format defaults to the file suffix."""
        write_chunks(path, self.chunks, self.sample_rate, audio_format)
        return Path(path)


@dataclass(frozen=True)
class EncodedPiece:
    """Encoded bytes and the caption segments whose audio ended in the chunk that produced them."""

    data: bytes
    captions: tuple[CaptionSegment, ...] = ()


class _Encoding:
    """Feeds events to a stream encoder made at the first event (which carries the sample rate)."""

    def __init__(self, audio_format: AudioFormat) -> None:
        self.audio_format = audio_format
        self._encoder: StreamEncoder | None = None

    def feed(self, event: SynthesisEvent) -> bytes:
        if self._encoder is None:
            self._encoder = StreamEncoder(self.audio_format, event.sample_rate)
        if isinstance(event, Summary):
            return self._encoder.finish()
        return self._encoder.encode(event)


class SynthesisStream:
    """The events of one request; iterate once with ``for`` or ``async for``.

    Errors raised before the first chunk (bad text, an unknown phoneme…) surface on the first iteration,
    so callers can still answer with a 4xx. :meth:`cancel` (e.g. on client disconnect) stops the
    synthesis at its next chunk; leaving an iteration early cancels too. ``timestamps`` is the caption
    timing level the chunks carry; ``warnings`` say how the request was served differently than asked.
    """

    def __init__(
        self, events: ChunkStream[Any], timestamps: str = "none", warnings: tuple[str, ...] = ()
    ) -> None:
        self._events = events
        self.summary: Summary | None = None
        self.timestamps = timestamps
        self.warnings = warnings

    def cancel(self) -> None:
        self._events.cancel()

    def _seen(self, event: SynthesisEvent) -> SynthesisEvent:
        if isinstance(event, Summary):
            self.summary = event
        return event

    def __iter__(self) -> Iterator[SynthesisEvent]:
        try:
            for event in self._events:
                yield self._seen(event)
        finally:
            if self.summary is None:
                self.cancel()

    async def __aiter__(self) -> AsyncIterator[SynthesisEvent]:
        try:
            async for event in self._events:
                yield self._seen(event)
        finally:
            if self.summary is None:
                self.cancel()

    def chunks(self) -> Iterator[AudioChunk]:
        """Only the audio chunks (the summary lands in :attr:`summary`)."""
        for event in self:
            if isinstance(event, AudioChunk):
                yield event

    async def apieces(self, audio_format: AudioFormat) -> AsyncIterator[EncodedPiece]:
        """Bytes of ``audio_format`` as they become final, each with the caption segments that ended in the
        chunk just encoded (pieces with neither are skipped)."""
        encoding = _Encoding(audio_format)
        async for event in self:
            data = encoding.feed(event)
            captions = event.captions if isinstance(event, AudioChunk) else ()
            if data or captions:
                yield EncodedPiece(data, captions)

    def encoded(self, audio_format: AudioFormat) -> Iterator[bytes]:
        """Non-empty byte strings of ``audio_format`` as they become final."""
        encoding = _Encoding(audio_format)
        for event in self:
            if data := encoding.feed(event):
                yield data

    async def aencoded(self, audio_format: AudioFormat) -> AsyncIterator[bytes]:
        """:meth:`encoded` for the event loop."""
        encoding = _Encoding(audio_format)
        async for event in self:
            if data := encoding.feed(event):
                yield data

    def collect(self) -> Synthesis:
        """Drain the stream (blocking)."""
        chunks = tuple(self.chunks())
        assert self.summary is not None
        return Synthesis(chunks, self.summary, self.timestamps, self.warnings)

    async def acollect(self) -> Synthesis:
        """Drain the stream without blocking the event loop."""
        chunks = tuple([event async for event in self if isinstance(event, AudioChunk)])
        assert self.summary is not None
        return Synthesis(chunks, self.summary, self.timestamps, self.warnings)
