"""``glmtts synth``: synthesize one text to an audio file (or stdout) with any engine.

Every input is checked before the engine is loaded (text, format, prompt clip, dictionary file), so bad
input fails fast with ``error: …`` and exit code 2, and nothing is written. Output goes to a temporary
file next to the target and is renamed into place only when synthesis succeeded; with ``--stream`` the
chunks are written to it as they are produced (to stdout at once when ``-o -``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from glmtts.errors import InvalidOptionError, NothingToSayError, PronunciationDictError

_LOGGER = logging.getLogger(__name__)
DEFAULT_OUTPUT = "out.wav"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("synth", help="synthesize text to an audio file", description=__doc__)
    parser.add_argument("text", metavar="TEXT", help="text to speak, or - to read it from stdin")
    parser.add_argument(
        "-o", "--output", default=DEFAULT_OUTPUT, help="output file, or - for stdout (default out.wav)"
    )
    voice = parser.add_mutually_exclusive_group()
    voice.add_argument("--voice", help="built-in voice name (default: the engine's default voice)")
    voice.add_argument("--prompt-audio", type=Path, help="prompt clip of the speaker to adapt to (1-60 s)")
    parser.add_argument("--prompt-text", help="transcript of the prompt clip (used by engines that need it)")
    parser.add_argument("--engine", default="kokoro", help="engine name (default kokoro)")
    parser.add_argument("--ckpt", type=Path, help="checkpoint directory (glm engine)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps (default cpu)")
    parser.add_argument("--dtype", default="float32", help="float32, bfloat16 or float16 (default float32)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for inference (default 2)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--speed", type=float, default=1.0, help="speaking rate, 0.25-4 (default 1.0)")
    parser.add_argument(
        "--format", help="wav, flac, mp3, opus or pcm (default: from the file suffix, else wav)"
    )
    parser.add_argument(
        "--phoneme",
        action="store_true",
        help="phoneme mode (glm engine; kokoro always reads pinyin with the dictionary applied)",
    )
    parser.add_argument("--dict", type=Path, help="pronunciation dictionary (G2P_replace_dict.jsonl)")
    parser.add_argument(
        "--stream", action="store_true", help="write audio chunks as soon as they are produced"
    )
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class SynthRequest:
    """The validated inputs of one ``synth`` call."""

    text: str
    output: str
    audio_format: Any
    prompt: tuple[np.ndarray, int] | None
    options: Any


def run(args: argparse.Namespace) -> int:
    request = _validate(args)
    engine = _load_engine(args)
    started = time.perf_counter()
    if request.prompt is not None:
        samples, sample_rate = request.prompt
        voice = engine.prepare_voice(samples, sample_rate, args.prompt_text)
    else:
        voice = engine.builtin_voice(args.voice)
    chunks = (chunk.samples for chunk in engine.stream(request.text, voice, request.options))
    n_samples = _write(request, engine.sample_rate, chunks, args.stream)
    elapsed = time.perf_counter() - started
    duration_s = n_samples / engine.sample_rate
    where = "stdout" if request.output == "-" else request.output
    print(
        f"wrote {where}: {duration_s:.2f} s of audio at {engine.sample_rate} Hz in {elapsed:.2f} s "
        f"(RTF {elapsed / max(duration_s, 1e-9):.2f})",
        file=sys.stderr,
    )
    return 0


def _validate(args: argparse.Namespace) -> SynthRequest:
    from glmtts.audio import parse_format, read_audio, validate_prompt
    from glmtts.engines.base import SynthesisOptions

    text = sys.stdin.read() if args.text == "-" else args.text
    if not text.strip():
        raise NothingToSayError("nothing to say: the text is empty")
    suffix = "" if args.output == "-" else Path(args.output).suffix.lstrip(".")
    audio_format = parse_format(args.format or suffix or "wav")
    if args.prompt_text and args.prompt_audio is None:
        raise InvalidOptionError("--prompt-text needs --prompt-audio")
    if args.dict is not None and not args.dict.is_file():
        raise PronunciationDictError(f"pronunciation dictionary not found: {args.dict}")
    if args.threads < 1:
        raise InvalidOptionError("--threads must be at least 1")
    prompt = None
    if args.prompt_audio is not None:
        samples, sample_rate = read_audio(args.prompt_audio)
        validate_prompt(samples, sample_rate)
        prompt = (samples, sample_rate)
    options = SynthesisOptions(seed=args.seed, speed=args.speed, phoneme=args.phoneme)
    return SynthRequest(text, args.output, audio_format, prompt, options)


def _load_engine(args: argparse.Namespace) -> Any:
    from glmtts.engines.base import EngineConfig
    from glmtts.engines.registry import create_engine

    config = EngineConfig(
        name=args.engine,
        ckpt_dir=args.ckpt,
        device=args.device,
        dtype=args.dtype,
        n_threads=args.threads,
        dictionary_path=args.dict,
    )
    engine = create_engine(config)
    started = time.perf_counter()
    engine.load()
    _LOGGER.info("engine %s loaded in %.2f s", args.engine, time.perf_counter() - started)
    return engine


def _write(request: SynthRequest, sample_rate: int, chunks: Iterator[np.ndarray], stream: bool) -> int:
    """Write all chunks; return the number of samples written."""
    if request.output == "-":
        return _write_stdout(request, sample_rate, chunks, stream)
    target = Path(request.output)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        if stream:
            n_samples = _stream_to_file(Path(tmp_name), request, sample_rate, chunks)
        else:
            n_samples = _buffer_to_file(Path(tmp_name), request, sample_rate, chunks)
        os.replace(tmp_name, target)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return n_samples


def _buffer_to_file(path: Path, request: SynthRequest, sample_rate: int, chunks: Iterator[np.ndarray]) -> int:
    from glmtts.audio import encode_audio

    audio = _concatenate(chunks)
    path.write_bytes(encode_audio(audio, sample_rate, request.audio_format))
    return int(audio.size)


def _stream_to_file(path: Path, request: SynthRequest, sample_rate: int, chunks: Iterator[np.ndarray]) -> int:
    from glmtts.audio import AudioFormat
    from glmtts.audio.codec import to_pcm16

    n_samples = 0
    if request.audio_format is AudioFormat.PCM:
        with path.open("wb") as handle:
            for chunk in chunks:
                handle.write(to_pcm16(chunk))
                handle.flush()
                n_samples += chunk.size
        return n_samples
    import soundfile as sf

    container, subtype = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "mp3": ("MP3", "MPEG_LAYER_III"),
                          "opus": ("OGG", "OPUS")}[request.audio_format.value]  # fmt: skip
    with sf.SoundFile(
        path, "w", samplerate=sample_rate, channels=1, format=container, subtype=subtype
    ) as out:
        for chunk in chunks:
            out.write(np.clip(chunk, -1.0, 1.0))
            out.flush()
            n_samples += chunk.size
    return n_samples


def _write_stdout(request: SynthRequest, sample_rate: int, chunks: Iterator[np.ndarray], stream: bool) -> int:
    from glmtts.audio import AudioFormat, encode_audio
    from glmtts.audio.codec import to_pcm16, wav_stream_header

    sink: BinaryIO = sys.stdout.buffer
    if not stream or request.audio_format not in (AudioFormat.WAV, AudioFormat.PCM):
        audio = _concatenate(chunks)
        sink.write(encode_audio(audio, sample_rate, request.audio_format))
        sink.flush()
        return int(audio.size)
    n_samples = 0
    header_written = False
    for chunk in chunks:
        if request.audio_format is AudioFormat.WAV and not header_written:
            sink.write(wav_stream_header(sample_rate))
            header_written = True
        sink.write(to_pcm16(chunk))
        sink.flush()
        n_samples += chunk.size
    return n_samples


def _concatenate(chunks: Iterator[np.ndarray]) -> np.ndarray:
    pieces = list(chunks)
    return np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, dtype=np.float32)
