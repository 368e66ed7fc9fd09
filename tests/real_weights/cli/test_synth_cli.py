"""``glmtts synth``: files written, formats, stdin, streaming, prompt adaptation, and bad input."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from glmtts.audio import encode_audio, write_audio
from glmtts.cli.main import main
from glmtts.engines.base import SynthesisOptions
from glmtts.engines.kokoro.engine import KokoroEngine

ZH = "今天天气很好，我们去公园散步吧。"


def run_cli(*argv: str) -> int:
    return main(["synth", *argv])


def test_writes_24khz_wav(tmp_path: Path, loaded_engine: KokoroEngine) -> None:
    out = tmp_path / "out.wav"
    assert run_cli(ZH, "-o", str(out)) == 0
    audio, sample_rate = sf.read(out, dtype="float32")
    assert sample_rate == 24000 and audio.ndim == 1
    assert 2.0 < audio.size / sample_rate < 6.0
    assert float(np.sqrt(np.mean(audio**2))) > 0.02


def test_stdin_and_flac(tmp_path: Path, loaded_engine: KokoroEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("Good morning."))
    out = tmp_path / "speech.flac"
    assert run_cli("-", "-o", str(out)) == 0
    info = sf.info(out)
    assert info.format == "FLAC" and info.samplerate == 24000 and info.duration > 0.5


def test_stream_file_matches_buffered(tmp_path: Path, loaded_engine: KokoroEngine) -> None:
    text = "你好。Nice to meet you."
    assert run_cli(text, "-o", str(tmp_path / "a.wav")) == 0
    assert run_cli(text, "-o", str(tmp_path / "b.wav"), "--stream") == 0
    a, _ = sf.read(tmp_path / "a.wav", dtype="int16")
    b, _ = sf.read(tmp_path / "b.wav", dtype="int16")
    assert np.array_equal(a, b)


def test_stream_pcm_to_stdout(
    loaded_engine: KokoroEngine, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert run_cli("你好。", "-o", "-", "--format", "pcm", "--stream") == 0
    pcm = np.frombuffer(capsysbinary.readouterr().out, dtype="<i2")
    assert 0.4 < pcm.size / 24000 < 3.0 and np.abs(pcm).max() > 1000


def test_prompt_audio_moves_pitch_toward_speaker(tmp_path: Path, loaded_engine: KokoroEngine) -> None:
    from glmtts.engines.kokoro.adaptation import VoiceTransform
    from tests.support.kokoro.fixtures import median_f0_hz

    base = loaded_engine.synthesize(
        "我们去公园散步吧。", loaded_engine.builtin_voice("jf_alpha"), SynthesisOptions()
    )
    low = VoiceTransform((0.0, 1.0), (np.log(0.6), 1.0), 1.0, np.zeros(513)).apply(base, 24000)
    prompt = write_audio(tmp_path / "prompt.wav", low, 24000)
    assert run_cli("今天天气很好。", "-o", str(tmp_path / "plain.wav")) == 0
    assert run_cli("今天天气很好。", "-o", str(tmp_path / "adapted.wav"), "--prompt-audio", str(prompt)) == 0
    plain, _ = sf.read(tmp_path / "plain.wav", dtype="float32")
    adapted, _ = sf.read(tmp_path / "adapted.wav", dtype="float32")
    target = median_f0_hz(low, 24000)
    assert abs(np.log(median_f0_hz(adapted, 24000) / target)) < 0.5 * abs(
        np.log(median_f0_hz(plain, 24000) / target)
    )


def _bad_inputs(tmp_path: Path) -> dict[str, list[str]]:
    silent = write_audio(tmp_path / "silent.wav", np.zeros(48000, dtype=np.float32), 24000)
    short = write_audio(
        tmp_path / "short.wav", 0.3 * np.sin(np.arange(7200) / 10.0).astype(np.float32), 24000
    )
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text_file = tmp_path / "notes.wav"
    text_file.write_text("this is not audio " * 50)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + bytes(40))
    return {
        "empty text": [""],
        "punctuation only": ["，。！？"],
        "unknown format": [ZH, "--format", "aiff"],
        "unknown suffix": [ZH, "-o", str(tmp_path / "x.xyz")],
        "missing prompt": [ZH, "--prompt-audio", str(tmp_path / "nope.wav")],
        "zero-length prompt": [ZH, "--prompt-audio", str(empty)],
        "non-audio prompt": [ZH, "--prompt-audio", str(text_file)],
        "corrupt prompt": [ZH, "--prompt-audio", str(corrupt)],
        "silent prompt": [ZH, "--prompt-audio", str(silent)],
        "sub-second prompt": [ZH, "--prompt-audio", str(short)],
        "unknown voice": [ZH, "--voice", "nobody"],
        "bad speed": [ZH, "--speed", "9"],
    }


def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, loaded_engine: KokoroEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    for case, argv in _bad_inputs(tmp_path).items():
        workdir = tmp_path / case.replace(" ", "_")
        workdir.mkdir()
        out = workdir / "out.wav"
        args = argv if "-o" in argv else [*argv, "-o", str(out)]
        assert run_cli(*args) == 2, case
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: "), (case, err)
        assert "Traceback" not in err[0]
        assert list(workdir.iterdir()) == [], case


def test_end_to_end_process_matches_in_process(tmp_path: Path, loaded_engine: KokoroEngine) -> None:
    out = tmp_path / "out.wav"
    result = subprocess.run(
        [sys.executable, "-m", "glmtts", "synth", "Hello world.", "-o", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    here = loaded_engine.synthesize("Hello world.", loaded_engine.builtin_voice(), SynthesisOptions())
    assert out.read_bytes() == encode_audio(here, 24000, "wav")
