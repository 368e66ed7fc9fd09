"""Audio decoding, encoding, resampling and prompt checks."""

from glmtts.audio.codec import AudioFormat, encode_audio, parse_format, write_audio
from glmtts.audio.decode import read_audio, read_audio_bytes
from glmtts.audio.signal import audio_content_hash, resample, rms_dbfs, to_mono, validate_prompt

__all__ = [
    "AudioFormat",
    "audio_content_hash",
    "encode_audio",
    "parse_format",
    "read_audio",
    "read_audio_bytes",
    "resample",
    "rms_dbfs",
    "to_mono",
    "validate_prompt",
    "write_audio",
]
