"""``glmtts text``: show how the frontend reads a text (normalized form, segments, pinyin, phonemes).

The tool to reach for when a word is read wrong: it prints what every engine receives, and ``--dict`` tries
a pronunciation dictionary before installing it as ``configs/G2P_replace_dict.jsonl``. ``--json`` also names
the normalizer that ran (WeTextProcessing's grammars, their version and source).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glmtts.text import Segment


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "text",
        help="show normalized text, segments, pinyin and phonemes",
        description="Show how the text frontend normalizes, splits and reads TEXT.",
    )
    parser.add_argument("text", metavar="TEXT", help="text to analyze, or - to read standard input")
    parser.add_argument(
        "--phoneme", action="store_true", help="also show the glm engine's phoneme-token text"
    )
    parser.add_argument("--dict", type=Path, metavar="FILE", help="a G2P_replace_dict.jsonl to use")
    parser.add_argument(
        "--extra-dict",
        action="store_true",
        help="also use glmtts's extra readings (G2P_extra_dict.jsonl), which win over the dictionary",
    )
    parser.add_argument(
        "--official",
        action="store_true",
        help="read exactly like upstream GLM-TTS (no overrides of its known misreadings)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-split", action="store_true", help="keep the text as one segment")
    parser.add_argument("--words", action="store_true", help="also show each word with its reading")
    parser.set_defaults(func=run)


def describe_words(segment: Segment) -> str:
    """``银行(yin2 hang2) 行长(hang2 zhang3) iPhone[en]``: words with their readings or kinds."""
    parts = []
    for token in segment.tokens:
        if token.pinyin:
            parts.append(f"{token.text}({' '.join(token.pinyin)})")
        elif token.kind.value in ("en", "other"):
            parts.append(f"{token.text}[{token.kind.value}]")
    return " ".join(parts)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from glmtts.text import FrontendConfig, TextFrontend

    text = sys.stdin.read() if args.text == "-" else args.text
    config = FrontendConfig(
        dictionary_path=args.dict, extra_dictionary=args.extra_dict, apply_overrides=not args.official
    )
    frontend = TextFrontend(config)
    frontend.load()
    result = frontend.analyze(text, phoneme=args.phoneme, split=not args.no_split)
    if args.json:
        payload = {
            "normalizer": {**asdict(frontend.normalizer_info), "overrides": config.apply_overrides},
            "normalized": result.normalized,
            "segments": [segment.text for segment in result.segments],
            "pinyin": [segment.pinyin for segment in result.segments],
            "phonemes": [segment.phonemes for segment in result.segments] if args.phoneme else None,
        }
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    print(f"normalized: {result.normalized}")
    for index, segment in enumerate(result.segments, start=1):
        print(f"segment {index}: {segment.text}")
        if segment.pinyin:
            print(f"  pinyin:   {segment.pinyin}")
        if segment.phonemes is not None:
            print(f"  phonemes: {segment.phonemes}")
        if args.words:
            print(f"  words:    {describe_words(segment)}")
    return 0
