"""The Batch tab: upload a JSONL (+ zip of prompt clips), follow progress with per-item errors, cancel, download.

Jobs go to the server's :class:`~glmtts.jobs.manager.JobManager` (the same one behind ``/v1/jobs``); their items
run on the model worker at batch priority, so the other tabs stay responsive while a job runs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from glmtts.errors import InvalidBatchError, PayloadTooLargeError
from glmtts.jobs.manager import JobManager
from glmtts.jobs.records import ItemRecord, JobRecord, job_document
from glmtts.ui.context import Refresh, UiContext
from glmtts.ui.errors import ui_handler

_LOGGER = logging.getLogger(__name__)

ITEM_COLUMNS = ["line", "uttid", "state", "audio s", "error"]
POLL_INTERVAL_S = 1.0
EXAMPLE_JSONL = (
    '{"uttid": "hello", "syn_text": "Hello there."}\n'
    '{"uttid": "clip", "prompt_speech": "prompts/a.wav", "prompt_text": "…", "syn_text": "Cloned from a.wav."}\n'
)


def item_rows(items: list[ItemRecord]) -> list[list[Any]]:
    """One table row per item, with its error message when it failed."""
    return [
        [
            item.line_no,
            item.uttid or "",
            item.state.value,
            round(item.audio_s, 2) if item.audio_s else "",
            f"{item.error.error_type}: {item.error.message}" if item.error else "",
        ]
        for item in items
    ]


def describe_job(job: JobRecord) -> str:
    """Markdown progress line of a job."""
    document = job_document(job)
    counts = document["counts"]
    n_finished = counts["done"] + counts["failed"] + counts["cancelled"]
    parts = [
        f"Job `{job.job_id}` is **{job.state.value}**",
        f"{n_finished}/{job.n_items} finished ({counts['done']} done, {counts['failed']} failed"
        + (f", {counts['cancelled']} cancelled)" if counts["cancelled"] else ")"),
        f"progress {100 * document['progress']:.0f}%",
    ]
    if document["eta_s"] is not None:
        parts.append(f"ETA {document['eta_s']:.0f} s")
    if job.error is not None:
        parts.append(f"error: {job.error.message}")
    return " · ".join(parts)


class BatchHandler:
    """Submits, polls, cancels and fetches jobs of the server's job manager."""

    def __init__(self, context: UiContext, manager: JobManager) -> None:
        self.context = context
        self.manager = manager

    def submit(self, jsonl_path: str | None, zip_path: str | None, seed: Any, phoneme: bool) -> JobRecord:
        """Queue a job from the uploaded files; bad lines become failed items, a bad file raises."""
        if not jsonl_path:
            raise InvalidBatchError("upload a JSONL file: one object per line with at least syn_text")
        limit = self.manager.input_limits.max_bytes
        if Path(jsonl_path).stat().st_size > limit:
            raise PayloadTooLargeError(f"the batch file is larger than {limit} bytes")
        options = {"seed": seed, "phoneme": bool(phoneme)}
        job = self.manager.submit(
            Path(jsonl_path).read_bytes(), Path(zip_path) if zip_path else None, options
        )
        _LOGGER.info("UI submitted job %s with %d items", job.job_id, job.n_items)
        return job

    def archive(self, job_id: str) -> str:
        """A copy of the finished job's zip in the UI scratch directory."""
        return self.context.scratch.link_copy(self.manager.archive_path(job_id), f"{job_id}.zip")

    def recent_job_ids(self) -> list[str]:
        return [job.job_id for job in self.manager.list_jobs(limit=20)]

    # ------------------------------------------------------------------ Gradio events
    def view(self, job_id: str | None) -> tuple[str, Any, Any, Any]:
        """Progress, item table, archive (once finished) and whether the poll timer stays on."""
        import gradio as gr

        job_id = (job_id or "").strip()
        if not job_id:
            return "No job yet.", gr.skip(), gr.skip(), gr.Timer(active=False)
        record = self.manager.get(job_id)
        finished = record.state.finished
        archive_file = self.archive(job_id) if finished else None
        rows = item_rows(self.manager.items(job_id))
        return describe_job(record), rows, archive_file, gr.Timer(active=not finished)

    def submit_event(
        self, jsonl_path: str | None, zip_path: str | None, seed: Any, phoneme: bool
    ) -> tuple[Any, ...]:
        """Submit, select the new job in the picker and show it."""
        import gradio as gr

        record = self.submit(jsonl_path, zip_path, seed, phoneme)
        picker = gr.update(choices=self.recent_job_ids(), value=record.job_id)
        return (picker, *self.view(record.job_id))

    def cancel_event(self, job_id: str | None) -> tuple[Any, ...]:
        if job_id:
            self.manager.cancel(job_id)
        return self.view(job_id)


def build_batch_tab(context: UiContext) -> list[Refresh]:
    """Create the tab inside the current Blocks; return what to refresh when the page or tab opens."""
    import gradio as gr

    handler = BatchHandler(context, context.services.jobs)
    gr.Markdown(
        "One JSON object per line (upstream format): `uttid`, `syn_text`, and either `prompt_speech` (a path "
        "inside the zip of clips) + `prompt_text`, or `voice` (a stored or built-in voice). Example:\n"
        f"```\n{EXAMPLE_JSONL}```"
    )
    with gr.Row():
        jsonl = gr.File(
            label="Batch file (JSONL)", file_types=[".jsonl", ".json", ".txt"], elem_id="batch-jsonl"
        )
        prompts = gr.File(label="Prompt clips (zip, optional)", file_types=[".zip"], elem_id="batch-zip")
        with gr.Column():
            seed = gr.Number(
                context.services.service.decoder.defaults.seed, label="Seed", precision=0, minimum=0
            )
            phoneme = gr.Checkbox(False, label="Phoneme mode")
    with gr.Row():
        submit_button = gr.Button("Run batch", variant="primary", elem_id="batch-run")
        cancel_button = gr.Button("Cancel job", variant="stop")
        job = gr.Dropdown(handler.recent_job_ids(), value=None, label="Job", allow_custom_value=True)
    progress = gr.Markdown("No job yet.", elem_id="batch-progress")
    items = gr.Dataframe(headers=ITEM_COLUMNS, label="Items", interactive=False, elem_id="batch-items")
    archive = gr.File(label="Results (zip)", interactive=False, elem_id="batch-archive")
    timer = gr.Timer(POLL_INTERVAL_S, active=False)

    outputs = [progress, items, archive, timer]
    view = ui_handler(handler.view)
    submit_inputs = [jsonl, prompts, seed, phoneme]
    submit_button.click(
        ui_handler(handler.submit_event), submit_inputs, [job, *outputs], api_name="batch_submit"
    )
    cancel_button.click(ui_handler(handler.cancel_event), job, outputs, api_name="batch_cancel")
    job.input(view, job, outputs, show_progress="hidden", api_name="batch_status")
    timer.tick(view, job, outputs, show_progress="hidden", api_visibility="private")
    return [Refresh(lambda: gr.update(choices=handler.recent_job_ids()), [job])]
