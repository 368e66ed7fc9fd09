"""Audio in and out: decoding, the one encoder registry, chunks, resampling and prompt checks."""

from glmtts.audio.chunk import AudioChunk, CaptionSegment, CaptionWord
from glmtts.audio.decode import read_audio, read_audio_bytes
from glmtts.audio.encode import (
    StreamEncoder,
    encode_audio,
    encode_chunks,
    format_for_path,
    open_encoder,
    register_encoder,
    write_audio,
    write_chunks,
)
from glmtts.audio.formats import AudioFormat, parse_format
from glmtts.audio.signal import audio_content_hash, resample, rms_dbfs, to_mono, validate_prompt

__all__ = [
    "AudioChunk",
    "AudioFormat",
    "CaptionSegment",
    "CaptionWord",
    "StreamEncoder",
    "audio_content_hash",
    "encode_audio",
    "encode_chunks",
    "format_for_path",
    "open_encoder",
    "parse_format",
    "read_audio",
    "read_audio_bytes",
    "register_encoder",
    "resample",
    "rms_dbfs",
    "to_mono",
    "validate_prompt",
    "write_audio",
    "write_chunks",
]
