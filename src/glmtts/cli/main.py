"""The ``glmtts`` command: parses flags and dispatches to one subcommand module.

Each subcommand lives in ``glmtts.cli.<name>`` and exposes ``register(subparsers)``, which adds its parser
and sets ``func`` (``args -> int``). Heavy imports happen inside ``func`` so ``glmtts --help`` is instant.
Errors: one ``error: …`` line on stderr, exit 2 for bad input and 1 for runtime failures; ``--debug``
shows the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from glmtts import __version__
from glmtts.cli import batch, doctor, infer, serve, synth, text, voices
from glmtts.errors import GlmttsError

SUBCOMMANDS = (synth, serve, infer, batch, voices, text, doctor)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glmtts", description="Always-warm zero-shot text-to-speech.")
    parser.add_argument("--version", action="version", version=f"glmtts {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    level = logging.DEBUG if args.debug else getattr(logging, str(args.log_level).upper(), logging.WARNING)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except GlmttsError as exc:
        if args.debug:
            raise
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # boundary: one line for the user, traceback with --debug
        if args.debug:
            raise
        logging.getLogger(__name__).debug("unexpected failure", exc_info=True)
        print(f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 1
