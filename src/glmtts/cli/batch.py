"""``glmtts batch run|submit|status|fetch|cancel``: batch jobs locally or on a server.

``batch run FILE.jsonl`` runs in this process with a progress bar (done / failed / ETA). The job id defaults
to the file name plus a hash of its content, so running the same command again after an interruption
(Ctrl+C, ``kill -9``, a reboot) resumes where it stopped; nothing done is synthesized again. Outputs:
``<out>/<job_id>/<uttid>.wav``, ``<out>/<job_id>/results.jsonl`` and ``<out>/<job_id>.zip``. Exit status 0
when every line succeeded, 1 when some failed, 2 when the file itself is unusable. ``--ray`` runs the same
job on Ray Data (a local Ray instance, or the cluster at ``RAY_ADDRESS``; :mod:`glmtts.ray.batch`): one
engine per actor, the same outputs, resumable the same way.

The other actions talk to ``glmtts serve`` over HTTP (:mod:`glmtts.cli.batch_remote`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from glmtts.cli.batch_remote import register_remote
from glmtts.cli.engine_flags import add_engine_flags, engine_config_from
from glmtts.cli.job_flags import add_caption_flags, caption_options, read_job_file

DEFAULT_OUT = Path("outputs") / "batch"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "batch", help="batch jobs from a JSONL file", description="Run batch jobs here or on a server."
    )
    actions = parser.add_subparsers(dest="batch_command", metavar="ACTION", required=True)
    _register_run(actions)
    register_remote(actions)


def _register_run(actions: Any) -> None:
    run = actions.add_parser("run", help="run a JSONL file here (resumable, with a progress bar)")
    run.add_argument(
        "file", type=Path, help="upstream JSONL: uttid, prompt_text, prompt_speech|voice, syn_text"
    )
    run.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default outputs/batch)")
    run.add_argument("--job-id", help="job id (default: file name + content hash, so re-running resumes)")
    run.add_argument(
        "--root", type=Path, help="folder prompt paths resolve in (default: the file's folder, then ./)"
    )
    add_engine_flags(run)
    run.add_argument("--seed", type=int, help="seed for every item (default 42)")
    run.add_argument("--phoneme", action="store_true", help="hybrid phoneme input (upstream --use_phoneme)")
    add_caption_flags(run)
    run.add_argument(
        "--workdir", type=Path, help="state directory with stored voices (default ./glmtts-data)"
    )
    run.add_argument("--max-attempts", type=int, default=3, help="attempts per item on transient errors")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    ray = run.add_argument_group("Ray Data (needs the glmtts[ray] extra)")
    ray.add_argument("--ray", action="store_true", help="run on Ray Data (local Ray, or RAY_ADDRESS)")
    ray.add_argument("--actors", type=int, default=1, help="engine actors (default 1)")
    ray.add_argument("--actor-cpus", type=float, default=1.0, help="CPUs per actor (default 1)")
    ray.add_argument("--actor-gpus", type=float, default=0.0, help="GPUs per actor (default 0)")
    run.set_defaults(func=run_local)


def run_local(args: argparse.Namespace) -> int:
    from glmtts.jobs.input import PromptResolver, parse_batch_input
    from glmtts.jobs.layout import JobLayout, content_job_id, validate_job_id
    from glmtts.jobs.local import open_local_job, run_local_job
    from glmtts.jobs.runner import RunnerSettings
    from glmtts.jobs.store import JobStore
    from glmtts.synthesis import open_runtime

    data = read_job_file(args.file)
    job_id = validate_job_id(args.job_id) if args.job_id else content_job_id(args.file, data)
    layout = JobLayout.for_local(args.out)
    roots = [args.root] if args.root else [args.file.resolve().parent, Path.cwd()]
    parse_batch_input(data, PromptResolver(roots, 1 << 40))  # whole-file errors before the (slow) engine load
    options = {"seed": args.seed, "phoneme": args.phoneme, **caption_options(args)}
    if args.ray:
        return _run_on_ray(args, data, job_id, layout, roots, options)
    with (
        open_runtime(engine_config_from(args), _runtime_config(args)) as runtime,
        JobStore(layout.db_path) as store,
    ):
        opened = open_local_job(store, layout, job_id, data, runtime.service, roots=roots, options=options)
        _announce(store, opened, layout.out_dir(job_id))
        with JobProgress(opened.job, disabled=args.no_progress) as progress:
            job = run_local_job(
                store,
                runtime.service,
                job_id,
                archive_path=layout.archive_path(job_id),
                settings=RunnerSettings(max_attempts=args.max_attempts),
                on_item=progress.update,
            )
    print(f"{job.job_id}: {job.n_done} done, {job.n_failed} failed -> {layout.archive_path(job_id)}")
    return 0 if job.n_done == job.n_items else 1


def _run_on_ray(
    args: argparse.Namespace,
    data: bytes,
    job_id: str,
    layout: Any,
    roots: list[Path],
    options: dict[str, Any],
) -> int:
    """The same job on Ray Data: stored and checked here (engine not loaded), synthesized by actors."""
    from glmtts.engines.registry import create_engine
    from glmtts.errors import InvalidOptionError
    from glmtts.jobs.layout import JobLayout
    from glmtts.jobs.local import open_local_job
    from glmtts.jobs.store import JobStore
    from glmtts.synthesis import build_runtime

    try:
        from glmtts.ray.batch import RayBatchSettings, RayJob, run_ray_job
    except ImportError as exc:
        raise InvalidOptionError(f"--ray needs the ray extra: pip install 'glmtts[ray]' ({exc})") from None
    if args.actors < 1:
        raise InvalidOptionError("--actors must be at least 1")
    layout = JobLayout.for_local(args.out.resolve())  # actors may run elsewhere: absolute paths
    roots = [root.resolve() for root in roots]
    engine = engine_config_from(args)
    runtime_config = _runtime_config(args, absolute=True)
    settings = RayBatchSettings(
        concurrency=args.actors,
        num_cpus=args.actor_cpus,
        num_gpus=args.actor_gpus,
        max_attempts=args.max_attempts,
    )
    checks = build_runtime(create_engine(engine), runtime_config)  # decoder and voice names; never loaded
    with JobStore(layout.db_path) as store:
        opened = open_local_job(store, layout, job_id, data, checks.service, roots=roots, options=options)
        _announce(store, opened, layout.out_dir(job_id))
        with JobProgress(opened.job, disabled=args.no_progress) as progress:
            job = run_ray_job(
                store,
                checks.service,
                job_id,
                RayJob(engine, args.engine_class, runtime_config, settings),
                archive_path=layout.archive_path(job_id),
                on_item=progress.update,
            )
    print(f"{job.job_id}: {job.n_done} done, {job.n_failed} failed -> {layout.archive_path(job_id)}")
    return 0 if job.n_done == job.n_items else 1


def _runtime_config(args: argparse.Namespace, absolute: bool = False) -> Any:
    """Stored voices from the workdir; prompt features persisted beside the outputs (a rerun resumes)."""
    from glmtts.synthesis import RuntimeConfig

    workdir = args.workdir or Path(os.environ.get("GLMTTS_WORKDIR", "glmtts-data"))
    out = args.out.resolve() if absolute else args.out
    voices_dir = workdir.resolve() / "voices" if absolute else workdir / "voices"
    return RuntimeConfig(
        voices_dir=voices_dir if voices_dir.is_dir() else None,
        voice_features_dir=out / ".voice-features",
        log_requests=False,
    )


def _announce(store: Any, opened: Any, out_dir: Path) -> None:
    from glmtts.jobs.input import describe_problems
    from glmtts.jobs.store import ItemState

    job = opened.job
    verb = "created" if opened.created else f"resuming ({job.n_done} done, {job.n_failed} failed so far)"
    print(f"job {job.job_id} {verb}: {job.n_items} lines -> {out_dir}", file=sys.stderr)
    rejected = [item for item in store.items(job.job_id, [ItemState.FAILED]) if item.attempts == 0]
    if opened.created and rejected:
        print(f"warning: {len(rejected)} line(s) rejected: {describe_problems(rejected)}", file=sys.stderr)


class JobProgress:
    """A tqdm bar over a job's items with done/failed counts (tqdm computes the ETA)."""

    def __init__(self, job: Any, disabled: bool) -> None:
        self._job = job
        self._disabled = disabled
        self._bar: Any = None
        self._done = job.n_done
        self._failed = job.n_failed

    def __enter__(self) -> JobProgress:
        from tqdm import tqdm

        finished = self._job.n_items - self._job.n_pending
        self._bar = tqdm(
            total=self._job.n_items,
            initial=finished,
            unit="item",
            file=sys.stderr,
            disable=self._disabled,
            dynamic_ncols=True,
        )
        self._bar.set_postfix(done=self._done, failed=self._failed)
        return self

    def update(self, uttid: str | None, state: Any) -> None:
        from glmtts.jobs.store import ItemState

        if state is ItemState.DONE:
            self._done += 1
        elif state is ItemState.FAILED:
            self._failed += 1
        else:
            return
        self._bar.set_postfix(done=self._done, failed=self._failed, refresh=False)
        self._bar.update(1)

    def __exit__(self, *exc_info: object) -> None:
        self._bar.close()
