"""``glmtts voices add|list|rm``: manage the voices library offline (the server loads it at start-up)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "voices", help="manage stored voices", description="Manage the voices library."
    )
    parser.add_argument(
        "--workdir", type=Path, help="state directory (default $GLMTTS_WORKDIR or ./glmtts-data)"
    )
    parser.add_argument(
        "--engine", help="engine whose features are stored (default $GLMTTS_ENGINE or kokoro)"
    )
    actions = parser.add_subparsers(dest="voices_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="store a prompt clip as a named voice")
    add.add_argument("name")
    add.add_argument("wav", type=Path)
    add.add_argument("--text", help="transcript of the clip")
    add.add_argument("--replace", action="store_true", help="replace a different voice with the same name")
    add.add_argument("--ckpt", type=Path, help="checkpoint directory (glm engine)")
    add.add_argument("--device", default="cpu")
    add.set_defaults(func=run_add)
    listing = actions.add_parser("list", help="list stored voices")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=run_list)
    remove = actions.add_parser("rm", help="delete a stored voice")
    remove.add_argument("name")
    remove.set_defaults(func=run_rm)


def _settings(args: argparse.Namespace, **extra: Any) -> Any:
    from glmtts.serving.settings import ServeSettings

    given = {
        k: v for k, v in {"workdir": args.workdir, "engine": args.engine, **extra}.items() if v is not None
    }
    return ServeSettings(**given)


def _store(args: argparse.Namespace) -> Any:
    from glmtts.voices import VoiceStore

    settings = _settings(args)
    return VoiceStore(settings.voices_dir, settings.engine)


def run_add(args: argparse.Namespace) -> int:
    from glmtts.audio import read_audio, validate_prompt
    from glmtts.engines.registry import create_engine, register_engine
    from glmtts.voices import VoiceStore, validate_voice_name

    validate_voice_name(args.name)
    settings = _settings(args, ckpt=args.ckpt, device=args.device)
    if settings.engine_class:
        register_engine(settings.engine, settings.engine_class)
    samples, sample_rate = read_audio(args.wav)
    validate_prompt(samples, sample_rate, max_s=settings.max_prompt_s)
    engine = create_engine(settings.engine_config())
    engine.load()
    store = VoiceStore(settings.voices_dir, engine.name or settings.engine)
    record = store.add(args.name, samples, sample_rate, args.text, engine.prepare_voice, replace=args.replace)
    print(f"stored voice {record.name} ({record.voice_id}, {record.duration_s:.1f} s) in {store.root}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    records = _store(args).list()
    if args.json:
        print(json.dumps([record.to_json() for record in records], ensure_ascii=False, indent=1))
        return 0
    for record in records:
        text = (record.prompt_text or "")[:40]
        print(
            f"{record.name}\t{record.voice_id}\t{record.duration_s:.1f}s\t{','.join(record.engines)}\t{text}"
        )
    return 0


def run_rm(args: argparse.Namespace) -> int:
    record = _store(args).remove(args.name)
    print(f"removed voice {record.name} ({record.voice_id})")
    return 0
