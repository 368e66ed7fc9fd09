"""``glmtts batch submit|status|fetch|cancel``: batch jobs on a ``glmtts serve`` server, over HTTP.

``--server`` (default ``$GLMTTS_SERVER`` or ``http://127.0.0.1:7860``) and ``--api-key`` (or
``$GLMTTS_API_KEY``) say where and as whom. Server errors come back as typed errors with the server's
message (4xx as input errors), so the CLI exits non-zero with that message.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from glmtts.cli.job_flags import add_caption_flags, caption_options, read_job_file


def register_remote(actions: Any) -> None:
    """The actions that talk to a server: submit, status, fetch, cancel."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", help="server URL (default $GLMTTS_SERVER or http://127.0.0.1:7860)")
    common.add_argument("--api-key", help="API key (default $GLMTTS_API_KEY)")
    submit = actions.add_parser(
        "submit", parents=[common], help="send a JSONL file (and its prompt clips) to a server"
    )
    submit.add_argument("file", type=Path)
    submit.add_argument(
        "--prompts", type=Path, help="zip of prompt clips (default: zip the clips the file names)"
    )
    submit.add_argument("--job-id", help="job id (default: chosen by the server)")
    submit.add_argument("--seed", type=int, help="seed for every item (default: the server's --seed)")
    submit.add_argument("--phoneme", action="store_true", help="hybrid phoneme input")
    add_caption_flags(submit)
    submit.add_argument("--wait", action="store_true", help="wait until the job finishes")
    submit.set_defaults(func=run_submit)
    status = actions.add_parser("status", parents=[common], help="show a job's state and progress")
    status.add_argument("job_id", metavar="ID")
    status.add_argument("--json", action="store_true", help="print the job document as JSON")
    status.set_defaults(func=run_status)
    fetch = actions.add_parser("fetch", parents=[common], help="download a finished job's zip")
    fetch.add_argument("job_id", metavar="ID")
    fetch.add_argument("-o", "--output", type=Path, help="zip file to write (default ./ID.zip)")
    fetch.set_defaults(func=run_fetch)
    cancel = actions.add_parser("cancel", parents=[common], help="cancel a job (--purge: also delete it)")
    cancel.add_argument("job_id", metavar="ID")
    cancel.add_argument("--purge", action="store_true", help="delete the job and its outputs as well")
    cancel.set_defaults(func=run_cancel)


def _client(args: argparse.Namespace) -> Any:
    import httpx

    server = args.server or os.environ.get("GLMTTS_SERVER") or "http://127.0.0.1:7860"
    key = args.api_key or os.environ.get("GLMTTS_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server, headers=headers, timeout=httpx.Timeout(120.0, connect=5.0))


def _checked(client: Any, method: str, url: str, **kwargs: Any) -> Any:
    """Send a request; turn transport failures and error answers into typed errors."""
    import httpx

    from glmtts.errors import GlmttsError, InputError

    try:
        response = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise GlmttsError(f"cannot reach the server at {client.base_url}: {exc}") from None
    if response.status_code < 400:
        return response
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200] or response.reason_phrase
    error_class = InputError if response.status_code < 500 else GlmttsError
    raise error_class(f"server answered {response.status_code}: {message}")


def run_submit(args: argparse.Namespace) -> int:
    data = read_job_file(args.file)
    form = {"phoneme": str(args.phoneme).lower(), **caption_options(args)}
    if args.seed is not None:
        form["seed"] = str(args.seed)
    if args.job_id:
        form["job_id"] = args.job_id
    files: dict[str, Any] = {"file": (args.file.name, data, "application/x-ndjson")}
    prompts = args.prompts.read_bytes() if args.prompts else _zip_referenced_prompts(args.file, data)
    if prompts:
        files["prompts"] = ("prompts.zip", prompts, "application/zip")
    with _client(args) as client:
        document = _checked(client, "POST", "/v1/jobs", files=files, data=form).json()
        print(document["id"])
        for failure in document.get("failures", []):
            print(f"warning: line {failure['line']}: {failure['error']['message']}", file=sys.stderr)
        if args.wait:
            document = _wait_for(client, document["id"])
            _print_status(document)
    return 0


def _zip_referenced_prompts(path: Path, data: bytes) -> bytes | None:
    """A zip of the prompt clips the JSONL names, stored under the names it uses (found beside it or in ./)."""
    import io
    import json
    import zipfile

    from glmtts.jobs.input import LineRejected, PromptResolver
    from glmtts.jobs.uploads import safe_member_path

    names: set[str] = set()
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("prompt_speech"), str):
            names.add(record["prompt_speech"])
    resolver = PromptResolver([path.resolve().parent, Path.cwd()], 1 << 40)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(names):
            try:
                archive.write(resolver.resolve(name), arcname=str(safe_member_path(name)))
            except (LineRejected, ValueError, OSError):
                continue  # the server reports the line with its reason
        n_files = len(archive.namelist())
    return buffer.getvalue() if n_files else None


def _wait_for(client: Any, job_id: str, poll_s: float = 1.0) -> dict[str, Any]:
    import time

    while True:
        document: dict[str, Any] = _checked(client, "GET", f"/v1/jobs/{job_id}").json()
        if document["state"] in ("done", "failed", "cancelled"):
            return document
        time.sleep(poll_s)


def _print_status(document: dict[str, Any]) -> None:
    counts = document["counts"]
    eta = f", eta {document['eta_s']:.0f} s" if document.get("eta_s") is not None else ""
    print(
        f"{document['id']}: {document['state']} — {counts['done']} done, {counts['failed']} failed, "
        f"{counts['queued'] + counts['running']} pending of {document['n_items']}{eta}"
    )
    for failure in document.get("failures", [])[:20]:
        print(f"  line {failure['line']} ({failure['uttid']}): {failure['error']['message']}")


def run_status(args: argparse.Namespace) -> int:
    import json

    with _client(args) as client:
        document = _checked(client, "GET", f"/v1/jobs/{args.job_id}").json()
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=1))
    else:
        _print_status(document)
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from glmtts.atomic import atomic_write

    target = args.output or Path(f"{args.job_id}.zip")
    with _client(args) as client:
        response = _checked(client, "GET", f"/v1/jobs/{args.job_id}/archive")
        with atomic_write(target) as handle:
            handle.write(response.content)
    print(f"wrote {target} ({target.stat().st_size} bytes)")
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    params = {"purge": "true"} if args.purge else {}
    with _client(args) as client:
        document = _checked(client, "DELETE", f"/v1/jobs/{args.job_id}", params=params).json()
    if args.purge:
        print(f"{args.job_id}: deleted")
    else:
        _print_status(document)
    return 0
