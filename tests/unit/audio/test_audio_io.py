"""Audio decode/encode round trips, resampling and prompt validation, checked on real signals."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from glmtts.audio import (
    AudioFormat,
    audio_content_hash,
    encode_audio,
    parse_format,
    read_audio,
    read_audio_bytes,
    resample,
    rms_dbfs,
    to_mono,
    validate_prompt,
    write_audio,
)
from glmtts.audio.encoders import wav_header as wav_stream_header
from glmtts.audio.signal import first_channel
from glmtts.errors import InvalidAudioError, UnsupportedFormatError
from tests.conftest import harmonic_tone

SR = 24000


def _dominant_hz(samples: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1.0 / sample_rate)[int(np.argmax(spectrum))])


def _sine(freq: float, duration_s: float, sample_rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "opus"])
def test_encode_then_decode_keeps_duration_pitch_and_level(fmt: str) -> None:
    tone = _sine(440.0, 1.5, SR)
    decoded, sr = read_audio_bytes(encode_audio(tone, SR, fmt), name=f"tone.{fmt}")
    decoded = resample(decoded, sr, SR)
    assert abs(decoded.size / SR - 1.5) < 0.08  # codecs add a little padding
    assert abs(_dominant_hz(decoded, SR) - 440.0) < 3.0
    assert abs(rms_dbfs(decoded) - rms_dbfs(tone)) < 1.5


def test_pcm_is_raw_little_endian_int16() -> None:
    tone = _sine(300.0, 0.5, SR, amp=0.25)
    payload = encode_audio(tone, SR, AudioFormat.PCM)
    assert len(payload) == tone.size * 2
    restored = np.frombuffer(payload, dtype="<i2").astype(np.float32) / 32767.0
    assert np.max(np.abs(restored - tone)) < 1e-4


def test_write_audio_is_atomic_and_uses_suffix(tmp_path: Path) -> None:
    target = write_audio(tmp_path / "sub" / "x.flac", _sine(200.0, 0.3, SR), SR)
    info = sf.info(str(target))
    assert info.format == "FLAC" and info.samplerate == SR and info.frames == int(0.3 * SR)
    assert [p.name for p in target.parent.iterdir()] == ["x.flac"]


def test_stereo_is_mixed_to_mono_and_resampled(tmp_path: Path) -> None:
    left, right = _sine(500.0, 1.0, 44100), _sine(500.0, 1.0, 44100)
    path = tmp_path / "stereo.wav"
    sf.write(str(path), np.stack([left, right], axis=1), 44100)
    mono, sr = read_audio(path, target_sr=16000)
    assert sr == 16000 and mono.ndim == 1 and abs(mono.size - 16000) <= 1
    assert abs(_dominant_hz(mono, 16000) - 500.0) < 3.0


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_m4a_is_decoded_through_ffmpeg(tmp_path: Path) -> None:
    wav = tmp_path / "in.wav"
    sf.write(str(wav), _sine(330.0, 1.0, SR), SR)
    m4a = tmp_path / "in.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), str(m4a)], check=True)
    mono, _ = read_audio(m4a, target_sr=SR)
    assert abs(mono.size / SR - 1.0) < 0.1
    assert abs(_dominant_hz(mono, SR) - 330.0) < 5.0


@pytest.mark.parametrize(
    ("payload", "message"),
    [(b"", "empty"), (b"this is not audio at all" * 20, "not a readable audio file")],
)
def test_bad_bytes_raise_invalid_audio(payload: bytes, message: str) -> None:
    with pytest.raises(InvalidAudioError, match=message):
        read_audio_bytes(payload, name="upload")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidAudioError, match=r"nope\.wav"):
        read_audio(tmp_path / "nope.wav")


def test_validate_prompt_accepts_what_upstream_accepts_and_explains_refusals() -> None:
    good = harmonic_tone(2.0, SR)
    validate_prompt(good, SR)
    validate_prompt(good[: int(0.7 * SR)], SR)  # upstream GLM-TTS takes a 0.7 s clip
    validate_prompt(np.stack([good, 0.5 * good], axis=1), SR)  # [n, channels] as decoded
    with pytest.raises(InvalidAudioError, match=r"0\.30 s long; at least 0\.5 s .*send 3–10 s"):
        validate_prompt(good[: int(0.3 * SR)], SR)
    validate_prompt(good[: int(0.3 * SR)], SR, min_s=0.25)  # limits are parameters
    with pytest.raises(InvalidAudioError, match=r"silent.*send a recording of speech"):
        validate_prompt(np.zeros(2 * SR, dtype=np.float32), SR)
    with pytest.raises(InvalidAudioError, match=r"at most 60 s is accepted.*trim"):
        validate_prompt(np.tile(good, 31), SR)
    with pytest.raises(InvalidAudioError, match="at most 30 s"):
        validate_prompt(np.tile(good, 16), SR, max_s=30.0)
    with pytest.raises(InvalidAudioError, match="NaN"):
        validate_prompt(np.full(2 * SR, np.nan, dtype=np.float32), SR)
    with pytest.raises(InvalidAudioError, match="empty"):
        validate_prompt(np.zeros(0, dtype=np.float32), SR)
    with pytest.raises(InvalidAudioError, match="channel 0"):
        validate_prompt(np.stack([np.zeros_like(good), good], axis=1), SR)


def test_content_hash_depends_on_samples_rate_and_text() -> None:
    clip = harmonic_tone(1.0, SR)
    base = audio_content_hash(clip, SR)
    assert base == audio_content_hash(clip.copy(), SR)
    assert base != audio_content_hash(clip, 16000)
    assert base != audio_content_hash(clip, SR, "hello")
    assert base != audio_content_hash(clip * 0.5, SR)


def test_formats_and_stream_header() -> None:
    assert parse_format("MP3") is AudioFormat.MP3
    with pytest.raises(UnsupportedFormatError, match="choose one of"):
        parse_format("aiff")
    header = wav_stream_header(SR)
    tone = _sine(440.0, 0.2, SR)
    from glmtts.audio.encoders import to_pcm16

    decoded, sr = sf.read(io.BytesIO(header + to_pcm16(tone)), dtype="float32")
    assert sr == SR and decoded.size == tone.size
    assert to_mono(np.ones((10, 2), dtype=np.float32)).shape == (10,)
    stereo = np.stack([np.ones(4, np.float32), np.zeros(4, np.float32)], axis=1)
    np.testing.assert_array_equal(first_channel(stereo), np.ones(4, np.float32))
    assert audio_content_hash(stereo, SR) != audio_content_hash(stereo.reshape(-1), SR)
