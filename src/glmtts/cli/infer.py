"""``glmtts infer``: the upstream ``glmtts_inference.py`` command line, kept working.

Reads ``<examples-dir>/<data>.jsonl`` (``uttid``, ``prompt_text``, ``prompt_speech``, ``syn_text``), writes
``<output-dir>/pretrain<exp_name>/<data>/<uttid>.wav`` and ``text_compare.jsonl`` there: one JSON object per
line (strict JSONL, unlike upstream's indented dump) with ``uttid``, ``syn_text``, ``syn_text_tn`` (the
normalized segments) and ``syn_text_phoneme`` (per-segment phoneme text in phoneme mode, else null).
Prompt paths resolve against the working directory (upstream runs from the repo root), then the examples
folder's parent, then the examples folder; never outside them. A failing line is reported and the others
go on, as upstream. Exit status 0 when every line succeeded, 1 otherwise. The lines run as a job through
an in-process synthesis runtime: the same service, voices and limits as ``glmtts serve``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from glmtts.cli.engine_flags import add_engine_flags, engine_config_from

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{0,64}$")
TEXT_COMPARE_NAME = "text_compare.jsonl"
#: upstream glmtts_inference.py's default seed (``glmtts synth`` and ``serve`` default to 42)
UPSTREAM_SEED = 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "infer",
        help="upstream-compatible inference over examples/<data>.jsonl",
        description="Synthesize <examples-dir>/<data>.jsonl into outputs/pretrain<exp_name>/<data>/ (WAVs and "
        "text_compare.jsonl), like upstream glmtts_inference.py.",
    )
    parser.add_argument("--data", default="example_zh", help="basename of <examples-dir>/<data>.jsonl")
    parser.add_argument(
        "--exp_name", "--exp-name", default="_test", help="output folder suffix: pretrain<exp_name>"
    )
    parser.add_argument(
        "--use_cache", "--use-cache", action="store_true", default=True, help="(default, as upstream)"
    )
    parser.add_argument(
        "--no_cache", "--no-cache", dest="use_cache", action="store_false", help="disable the cache"
    )
    parser.add_argument(
        "--phoneme",
        "--use_phoneme",
        "--use-phoneme",
        dest="phoneme",
        action="store_true",
        help="hybrid phoneme input",
    )
    parser.add_argument(
        "--sample_rate",
        "--sample-rate",
        type=int,
        default=24000,
        choices=(24000, 32000),
        help="output rate in Hz",
    )
    parser.add_argument("--examples-dir", "--examples_dir", type=Path, default=Path("examples"))
    parser.add_argument("--output-dir", "--output_dir", type=Path, default=Path("outputs"))
    parser.add_argument("--seed", type=int, default=UPSTREAM_SEED, help="seed (default 0, as upstream)")
    add_engine_flags(parser, ckpt_default=Path("ckpt"))
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from glmtts.cli.batch import JobProgress
    from glmtts.jobs.layout import JobLayout
    from glmtts.jobs.local import open_local_job, run_local_job
    from glmtts.jobs.runner import RunnerSettings
    from glmtts.jobs.store import JobStore
    from glmtts.synthesis import open_runtime

    source = _input_file(args)
    data = source.read_bytes()
    layout = JobLayout(
        db_path=Path(":memory:"),
        uploads_dir=args.output_dir,
        outputs_dir=args.output_dir / f"pretrain{args.exp_name}",
    )
    examples_dir = args.examples_dir.resolve()
    options = {"seed": args.seed, "phoneme": args.phoneme, "use_cache": args.use_cache}
    with open_runtime(engine_config_from(args)) as runtime, JobStore(None) as store:
        service = runtime.service
        roots = [Path.cwd(), examples_dir.parent, examples_dir]
        opened = open_local_job(store, layout, args.data, data, service, roots=roots, options=options)
        with JobProgress(opened.job, disabled=args.no_progress) as progress:
            job = run_local_job(
                store,
                service,
                args.data,
                archive_path=None,
                settings=RunnerSettings(sample_rate=args.sample_rate),
                on_item=progress.update,
                finish=lambda finished: _write_text_compare(store, finished, service),
            )
        _report_failures(store, job)
    print(f"{job.n_done}/{job.n_items} written to {job.out_dir}")
    return 0 if job.n_done == job.n_items else 1


def _input_file(args: argparse.Namespace) -> Path:
    from glmtts.errors import InvalidBatchError, InvalidOptionError

    if not args.data or not _NAME_RE.match(args.data) or args.data.startswith("."):
        raise InvalidOptionError(f"--data must be a plain name such as example_zh, got {args.data!r}")
    if not _NAME_RE.match(args.exp_name):
        raise InvalidOptionError(
            f"--exp_name may hold letters, digits, '_', '-' and '.', got {args.exp_name!r}"
        )
    source: Path = args.examples_dir / f"{args.data}.jsonl"
    if not source.is_file():
        available = (
            sorted(p.stem for p in args.examples_dir.glob("*.jsonl")) if args.examples_dir.is_dir() else []
        )
        hint = f"; available: {', '.join(available)}" if available else ""
        raise InvalidBatchError(f"{source} does not exist{hint}")
    return source


def _write_text_compare(store: Any, job: Any, service: Any) -> None:
    """Upstream's text_compare file: how the engine read each line (its normalized segments, phonemes)."""
    from glmtts.atomic import atomic_write
    from glmtts.jobs.store import ItemState

    phoneme = bool(job.options.get("phoneme"))
    with atomic_write(job.out_dir / TEXT_COMPARE_NAME) as handle:
        for item in store.items(job.job_id, [ItemState.DONE]):
            description = service.describe(item.syn_text or "", phoneme).result()
            line = {
                "uttid": item.uttid,
                "syn_text": item.syn_text,
                "syn_text_tn": [segment.text for segment in description.segments],
                "syn_text_phoneme": [s.phonemes or s.text for s in description.segments] if phoneme else None,
            }
            handle.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")


def _report_failures(store: Any, job: Any) -> None:
    from glmtts.jobs.store import ItemState

    for item in store.items(job.job_id, [ItemState.FAILED]):
        message = item.error.message if item.error else "failed"
        print(f"warning: line {item.line_no} ({item.uttid}): {message}", file=sys.stderr)
