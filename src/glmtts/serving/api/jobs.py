"""Batch job routes (``services.jobs`` is a :class:`glmtts.jobs.manager.JobManager`).

- ``POST /v1/jobs`` (202): ``multipart/form-data`` with a ``file`` field (the JSONL) and an optional
  ``prompts`` field (a zip of the prompt clips its lines refer to); or ``application/json`` with
  ``{"items": [{…}, …]}`` or ``{"jsonl": "…"}``; or a raw ``application/x-ndjson`` body. Options as form
  fields, JSON keys or query parameters: ``seed`` (default: the server's ``--seed``), ``speed``,
  ``phoneme``, ``use_cache``, sampling fields, ``job_id``. Lines that fail
  validation are listed in the answer's ``failures`` (line number + reason) and the valid lines run.
- ``GET /v1/jobs``: newest first. ``GET /v1/jobs/{id}``: state, counts, progress, ETA, failures.
- ``GET /v1/jobs/{id}/archive``: the zip (done WAVs + ``results.jsonl``) once the job has finished (409
  before).
- ``DELETE /v1/jobs/{id}``: cancel (idempotent; the job keeps its finished items and archive).
  ``DELETE /v1/jobs/{id}?purge=true``: cancel if needed, then delete the job, its uploads and outputs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from starlette.datastructures import FormData, UploadFile

from glmtts.errors import InvalidBatchError, PayloadTooLargeError
from glmtts.jobs.manager import JobManager
from glmtts.jobs.records import ItemState, JobRecord, job_document
from glmtts.serving.api.deps import require_content_type
from glmtts.serving.composition import Services
from glmtts.synthesis import parse_bool

#: Failed items listed in a job document (the full list is in ``results.jsonl``).
MAX_FAILURES_LISTED = 100
_JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")


def build_router(services: Services) -> APIRouter:
    """Routes over the server's job manager."""
    router = APIRouter()
    routes = _JobRoutes(services.jobs)
    router.add_api_route("/v1/jobs", routes.submit, methods=["POST"], status_code=202)
    router.add_api_route("/v1/jobs", routes.list_jobs, methods=["GET"])
    router.add_api_route("/v1/jobs/{job_id}", routes.get_job, methods=["GET"])
    router.add_api_route(
        "/v1/jobs/{job_id}/archive", routes.archive, methods=["GET"], response_class=FileResponse
    )
    router.add_api_route("/v1/jobs/{job_id}", routes.delete, methods=["DELETE"])
    return router


class _JobRoutes:
    def __init__(self, manager: JobManager) -> None:
        self.manager = manager

    async def submit(self, request: Request, response: Response) -> dict[str, Any]:
        """Create a job from a JSONL file (+ zip of prompt clips) or JSON items."""
        media_type = require_content_type(request, "multipart/form-data", "application/json", *_JSONL_TYPES)
        if media_type == "multipart/form-data":
            async with request.form(max_files=2, max_fields=10) as form:
                jsonl = await self._read_jsonl(form)
                options, job_id = _options(form)
                prompts = form.get("prompts") or form.get("zip")
                prompt_file = prompts.file if isinstance(prompts, UploadFile) else None
                job = await asyncio.to_thread(self.manager.submit, jsonl, prompt_file, options, job_id)
        elif media_type == "application/json":
            body = await _json_body(request)
            options, job_id = _options({**request.query_params, **body})
            job = await asyncio.to_thread(self.manager.submit, _jsonl_from_json(body), None, options, job_id)
        else:
            jsonl = await _limited_body(request, self.manager.input_limits.max_bytes)
            options, job_id = _options(request.query_params)
            job = await asyncio.to_thread(self.manager.submit, jsonl, None, options, job_id)
        response.headers["Location"] = f"/v1/jobs/{job.job_id}"
        return self._document(job)

    async def list_jobs(self, limit: int = 100) -> dict[str, Any]:
        jobs = await asyncio.to_thread(self.manager.list_jobs, max(1, min(limit, 1000)))
        return {"jobs": [job_document(job) for job in jobs]}

    async def get_job(self, job_id: str) -> dict[str, Any]:
        job = await asyncio.to_thread(self.manager.get, job_id)
        return self._document(job)

    async def archive(self, job_id: str) -> FileResponse:
        path = await asyncio.to_thread(self.manager.archive_path, job_id)
        return FileResponse(path, media_type="application/zip", filename=f"{job_id}.zip")

    async def delete(self, job_id: str, purge: str | None = None) -> dict[str, Any]:
        if purge is not None and parse_bool("purge", purge):
            await asyncio.to_thread(self.manager.delete, job_id)
            return {"id": job_id, "deleted": True}
        job = await asyncio.to_thread(self.manager.cancel, job_id)
        return self._document(job)

    def _document(self, job: JobRecord) -> dict[str, Any]:
        failures = self.manager.items(job.job_id, (ItemState.FAILED,))[:MAX_FAILURES_LISTED]
        document = job_document(job)
        document["failures"] = [
            {"line": item.line_no, "uttid": item.uttid, "error": item.error.as_dict() if item.error else None}
            for item in failures
        ]
        return document

    async def _read_jsonl(self, form: FormData) -> bytes:
        upload = form.get("file") or form.get("jsonl")
        if isinstance(upload, str):
            data = upload.encode("utf-8")
        elif isinstance(upload, UploadFile):
            data = await upload.read(self.manager.input_limits.max_bytes + 1)
        else:
            raise InvalidBatchError("send the batch as a file field named 'file' (JSON Lines)")
        if len(data) > self.manager.input_limits.max_bytes:
            raise PayloadTooLargeError(
                f"the batch file is larger than {self.manager.input_limits.max_bytes} bytes"
            )
        return data


def _options(fields: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The submission's option fields (validated by the manager) and its job id."""
    job_id = fields.get("job_id")
    return dict(fields), str(job_id) if job_id else None


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidBatchError(f"the request body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise InvalidBatchError('send {"items": [...]} or {"jsonl": "..."}')
    return body


def _jsonl_from_json(body: dict[str, Any]) -> bytes:
    if isinstance(body.get("jsonl"), str):
        return str(body["jsonl"]).encode("utf-8")
    items = body.get("items")
    if not isinstance(items, list):
        raise InvalidBatchError('send {"items": [...]} (one object per line) or {"jsonl": "..."}')
    return "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in items).encode("utf-8")


async def _limited_body(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the batch file is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
