"""``glmtts synth``: synthesize one text to an audio file (or stdout) with any engine.

The flags are decoded into one request by the same decoder as every other front end, before the engine is
loaded (text, format, prompt clip, dictionary file), so bad input fails fast with ``error: …`` and exit
code 2, and nothing is written. The request runs through an in-process synthesis runtime (the server's
service, worker and voice subsystem), and the audio goes through the one encoder registry: to a
temporary file next to the target, renamed into place only when synthesis succeeded; with ``--stream``
chunks are written as they are produced (to stdout at once when ``-o -``). ``--captions out.srt`` (or
``.vtt``) also writes the captions of the audio, timed by the engine (``--timestamps word`` where the
engine times words; otherwise segments, with a warning).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from glmtts.cli.engine_flags import add_engine_flags, engine_config_from
from glmtts.errors import InvalidOptionError, PronunciationDictError

_LOGGER = logging.getLogger(__name__)
DEFAULT_OUTPUT = "out.wav"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("synth", help="synthesize text to an audio file", description=__doc__)
    parser.add_argument("text", metavar="TEXT", help="text to speak, or - to read it from stdin")
    parser.add_argument(
        "-o", "--output", default=DEFAULT_OUTPUT, help="output file, or - for stdout (default out.wav)"
    )
    voice = parser.add_mutually_exclusive_group()
    voice.add_argument("--voice", help="built-in or OpenAI voice name (default: the engine's default voice)")
    voice.add_argument("--prompt-audio", type=Path, help="prompt clip of the speaker to adapt to")
    parser.add_argument("--prompt-text", help="transcript of the prompt clip (used by engines that need it)")
    add_engine_flags(parser)
    parser.add_argument("--seed", type=int, help="random seed (default 42)")
    parser.add_argument("--speed", type=float, help="speaking rate, 0.25-4 (default 1.0)")
    parser.add_argument(
        "--format",
        help="wav, flac, mp3, opus, aac, pcm, or captions alone: srt, vtt (default: from the file suffix, else wav)",
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
    parser.add_argument("--captions", type=Path, help="also write captions to this .srt or .vtt file")
    parser.add_argument("--timestamps", choices=("segment", "word"), help="caption timing (default segment)")
    parser.set_defaults(func=run)


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    from glmtts.audio import format_for_path

    text = sys.stdin.read() if args.text == "-" else args.text
    target = "" if args.output == "-" else args.output
    return {
        "text": text,
        "voice": args.voice,
        "seed": args.seed,
        "speed": args.speed,
        "phoneme": args.phoneme,
        "format": format_for_path(target, args.format).value,
        "timestamps": args.timestamps or ("segment" if args.captions else None),
    }


def _captions_format(path: Path | None) -> Any:
    """The caption format of ``--captions`` (by suffix), or None without the flag."""
    from glmtts.audio import format_for_path

    if path is None:
        return None
    fmt = format_for_path(path) if path.suffix else None
    if fmt is None or not fmt.is_captions:
        raise InvalidOptionError(f"--captions needs a .srt or .vtt file name, got {str(path)!r}")
    return fmt


def run(args: argparse.Namespace) -> int:
    from glmtts.engines.registry import create_engine
    from glmtts.synthesis import RequestDecoder, build_runtime

    if args.prompt_text and args.prompt_audio is None:
        raise InvalidOptionError("--prompt-text needs --prompt-audio")
    if args.dict is not None and not args.dict.is_file():
        raise PronunciationDictError(f"pronunciation dictionary not found: {args.dict}")
    config = engine_config_from(args, dictionary=args.dict)
    captions_format = _captions_format(args.captions)
    fields = _fields(args)
    decoder = RequestDecoder()
    clip = decoder.prompt_file(args.prompt_audio, args.prompt_text) if args.prompt_audio else None
    request = decoder.decode(fields, clip=clip, stream=args.stream, route="cli")
    started = time.perf_counter()
    with build_runtime(create_engine(config)) as runtime:
        runtime.service.resolve_voice(request.voice)  # an unknown name fails before the (slow) load
        runtime.load()
        _LOGGER.info("engine %s loaded in %.2f s", args.engine, time.perf_counter() - started)
        started = time.perf_counter()
        events = runtime.service.run(request)
        captions = _CaptionTrack()
        n_samples = _write(
            args.output, events, request.audio_format, args.stream, runtime.host.sample_rate, captions
        )
        sample_rate = runtime.host.sample_rate
    for warning in events.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if captions_format is not None:
        captions.save(args.captions, sample_rate, captions_format)
    elapsed = time.perf_counter() - started
    duration_s = n_samples / sample_rate
    where = "stdout" if args.output == "-" else args.output
    print(
        f"wrote {where}: {duration_s:.2f} s of audio at {sample_rate} Hz in {elapsed:.2f} s "
        f"(RTF {elapsed / max(duration_s, 1e-9):.2f})",
        file=sys.stderr,
    )
    return 0


class _CaptionTrack:
    """The caption timing of the chunks that went by (their samples are not kept)."""

    def __init__(self) -> None:
        self.chunks: list[Any] = []

    def follow(self, chunks: Iterable[Any]) -> Iterator[Any]:
        from glmtts.audio import AudioChunk

        for chunk in chunks:
            if chunk.captions:
                self.chunks.append(AudioChunk(chunk.samples[:0], chunk.sample_rate, captions=chunk.captions))
            yield chunk

    def save(self, path: Path, sample_rate: int, caption_format: Any) -> None:
        from glmtts.audio import write_chunks

        write_chunks(path, self.chunks, sample_rate, caption_format)
        print(f"wrote {path}", file=sys.stderr)


def _write(
    output: str, events: Any, audio_format: Any, stream: bool, sample_rate: int, captions: _CaptionTrack
) -> int:
    """Write the audio (the captions' timing goes by ``captions``); return the number of samples written."""
    from glmtts.audio import StreamEncoder, write_chunks

    if output == "-":
        sink = sys.stdout.buffer
        if stream:
            encoder = StreamEncoder(audio_format, sample_rate)
            pieces: Iterable[bytes] = (encoder.encode(c) for c in captions.follow(events.chunks()))
        else:
            result = events.collect()
            pieces = [result.encode(audio_format)]
            list(captions.follow(result.chunks))
        for data in pieces:
            sink.write(data)
            sink.flush()
        if stream:
            sink.write(encoder.finish())
            sink.flush()
    elif stream:
        write_chunks(output, captions.follow(events.chunks()), sample_rate, audio_format, flush_each=True)
    else:
        result = events.collect()
        write_chunks(output, captions.follow(result.chunks), result.sample_rate, audio_format)
    return round(events.summary.audio_s * sample_rate)
