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

    return VoiceStore(_settings(args).voices_dir)


def run_add(args: argparse.Namespace) -> int:
    """Extract the clip's features with the engine the server will use, through the same voice subsystem."""
    from glmtts.engines.registry import create_engine
    from glmtts.synthesis import build_runtime
    from glmtts.voices import validate_voice_name

    validate_voice_name(args.name)
    settings = _settings(args, ckpt=args.ckpt, device=args.device)
    runtime = build_runtime(create_engine(settings.engine_config()), settings.runtime_config())
    with runtime:
        clip = runtime.decoder.prompt_file(args.wav, args.text)
        runtime.voices.store.check_new(args.name, clip, args.replace)
        runtime.load()
        record = runtime.service.add_voice(args.name, clip, args.replace).result()
    print(
        f"stored voice {record.name} ({record.voice_id}, {record.duration_s:.1f} s) in {settings.voices_dir}"
    )
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
