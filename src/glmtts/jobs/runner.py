"""Runs the items of one stored job, one at a time, durably, through the synthesis service.

Every item is a :class:`~glmtts.synthesis.SynthesisRequest` decoded from the line and the job's options
by the service's own decoder and run at batch priority, so a job line and an HTTP request with the same
text, voice, seed and format give the same bytes, with the same voice names, limits, live pronunciation
dictionary, log line and metrics. For every item the runner commits ``running`` (one attempt counted,
with the normalized text the engine reads), synthesizes, writes ``<out_dir>/<uttid>.wav`` atomically, then
commits ``done``. After a crash (``kill -9``) :meth:`JobRunner.run` first recovers: a ``running`` item whose
WAV exists is marked done without synthesizing it again; one without is queued again, unless it already
used all its attempts (then it fails as ``interrupted``, so a clip that crashes the process cannot loop
forever); stray temporary files are removed. Transient errors (engine, timeout, overload, I/O) are retried
with backoff up to ``max_attempts``; input errors fail the item at once; one failing item never stops the
others. Prompt features are extracted once per distinct clip by the voice subsystem's cache.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from glmtts.atomic import remove_partials
from glmtts.audio import AudioFormat, resample, write_audio, write_chunks
from glmtts.engines.base import CancelToken
from glmtts.errors import (
    CancelledError,
    ConflictError,
    EngineError,
    GlmttsError,
    NotReadyError,
    OverloadedError,
    RequestTimeoutError,
)
from glmtts.jobs.store import ItemError, ItemRecord, ItemState, JobRecord, JobState, JobStore
from glmtts.synthesis import Priority, Synthesis, SynthesisRequest, SynthesisService

_LOGGER = logging.getLogger(__name__)

#: Errors worth another attempt: the engine or the machine hiccuped, the input is not to blame.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    EngineError,
    RequestTimeoutError,
    OverloadedError,
    NotReadyError,
    OSError,
    MemoryError,
)
_WAV_HEADER_BYTES = 44

#: Called after each finished item with (uttid, final item state).
ItemObserver = Callable[["str | None", ItemState], None]
#: Called once every item is processed, before the job is marked done (results file, archive…).
JobFinisher = Callable[[JobRecord], None]


@dataclass(frozen=True)
class RunnerSettings:
    """How the runner treats items; ``sample_rate`` resamples outputs when it differs from the engine's."""

    max_attempts: int = 3
    retry_backoff_s: float = 0.5
    sample_rate: int | None = None


@dataclass
class _JobContext:
    job: JobRecord
    cancel: threading.Event
    stop: threading.Event
    token: CancelToken


class JobRunner:
    """Processes the items of stored jobs; see the module docstring for the guarantees."""

    def __init__(
        self,
        store: JobStore,
        service: SynthesisService,
        settings: RunnerSettings | None = None,
        *,
        on_item: ItemObserver | None = None,
    ) -> None:
        self.store = store
        self.service = service
        self.settings = settings or RunnerSettings()
        self._on_item = on_item

    def run(
        self,
        job_id: str,
        cancel: threading.Event | None = None,
        finish: JobFinisher | None = None,
        stop: threading.Event | None = None,
    ) -> JobRecord:
        """Run a job to its end and return its final record.

        ``cancel`` set: no new item starts, the running one is interrupted, the rest become ``cancelled``.
        ``stop`` set (shutdown): no new item starts and the job stays resumable (state ``running``).
        """
        job = self.store.get_job(job_id)
        if job.state.finished:
            return job
        job.out_dir.mkdir(parents=True, exist_ok=True)
        durable = self.store.path is not None  # an in-memory store (glmtts infer) cannot resume anyway
        with job_lock(job.out_dir / ".lock") if durable else contextlib.nullcontext():
            self.recover(job)
            self.store.set_job_state(job_id, JobState.RUNNING)
            cancel = cancel or threading.Event()
            context = _JobContext(job, cancel, stop or threading.Event(), _EventCancelToken(cancel))
            while (item := self._next_item(context)) is not None:
                state = self._run_item(context, item)
                if self._on_item is not None:
                    self._on_item(item.uttid, state)
            cancelled = self._cancelled(context)
            if not cancelled and self.store.next_queued_item(job_id) is not None:
                _LOGGER.info("job %s stopped; it resumes at the next start", job_id)
                return self.store.get_job(job_id)
            if cancelled:
                self.store.cancel_pending_items(job_id)
            if finish is not None:
                finish(self.store.get_job(job_id))
            final_state = JobState.CANCELLED if cancelled else JobState.DONE
            self.store.set_job_state(job_id, final_state)
        _LOGGER.info("job %s %s", job_id, final_state.value)
        return self.store.get_job(job_id)

    def recover(self, job: JobRecord) -> None:
        """Repair the items of a job interrupted by a crash (see the module docstring)."""
        remove_partials(job.out_dir)  # item audio
        remove_partials(job.out_dir.parent, f"{job.job_id}.zip.*")  # the archive
        self._requeue_lost_outputs(job)
        for item in self.store.items(job.job_id, [ItemState.RUNNING]):
            output = output_path(job, item)
            if output.is_file():
                audio_s = float(sf.info(str(output)).duration)
                self.store.mark_item_done(
                    job.job_id, item.line_no, output=output.name, synth_s=0.0, audio_s=audio_s
                )
                _LOGGER.info("job %s: item %s was written before the interruption", job.job_id, item.uttid)
            elif item.attempts >= self.settings.max_attempts:
                message = f"the process stopped {item.attempts} times while synthesizing this item"
                self.store.mark_item_failed(job.job_id, item.line_no, ItemError("interrupted", message))
            else:
                self.store.requeue_item(job.job_id, item.line_no)

    def _requeue_lost_outputs(self, job: JobRecord) -> None:
        """Queue done items again whose WAV is gone or truncated (a power loss before the OS flushed it)."""
        for item in self.store.items(job.job_id, [ItemState.DONE]):
            if not has_output(job, item):
                _LOGGER.warning(
                    "job %s: output of item %s was lost; synthesizing it again", job.job_id, item.uttid
                )
                self.store.requeue_item(job.job_id, item.line_no)

    def _cancelled(self, context: _JobContext) -> bool:
        if not context.cancel.is_set() and self.store.cancel_requested(context.job.job_id):
            context.cancel.set()
        return context.cancel.is_set()

    def _next_item(self, context: _JobContext) -> ItemRecord | None:
        if self._cancelled(context) or context.stop.is_set():
            return None
        return self.store.next_queued_item(context.job.job_id)

    def _run_item(self, context: _JobContext, item: ItemRecord) -> ItemState:
        job_id = context.job.job_id
        attempt = item.attempts + 1
        request: SynthesisRequest | None = None
        while True:
            try:
                request = request or self._start(context, item)
                self._synthesize(context, item, request)
                return ItemState.DONE
            except CancelledError:
                self.store.requeue_item(job_id, item.line_no)
                return ItemState.QUEUED
            except TRANSIENT_ERRORS as exc:
                if context.stop.is_set():
                    self.store.requeue_item(job_id, item.line_no)
                    return ItemState.QUEUED
                if attempt >= self.settings.max_attempts or not self._back_off(context, attempt, item, exc):
                    return self._fail(job_id, item, _item_error(exc))
                attempt += 1
                self.store.count_attempt(job_id, item.line_no)
            except GlmttsError as exc:
                return self._fail(job_id, item, _item_error(exc))
            except Exception as exc:  # boundary: one broken item must not stop the job
                _LOGGER.exception("job %s: item %s crashed", job_id, item.uttid)
                return self._fail(job_id, item, ItemError("internal_error", f"{type(exc).__name__}: {exc}"))

    def _back_off(self, context: _JobContext, attempt: int, item: ItemRecord, exc: BaseException) -> bool:
        delay_s = self.settings.retry_backoff_s * 2 ** (attempt - 1)
        _LOGGER.warning(
            "job %s: item %s failed (%s); retrying in %.1f s", context.job.job_id, item.uttid, exc, delay_s
        )
        return not context.cancel.wait(delay_s)

    def _fail(self, job_id: str, item: ItemRecord, error: ItemError) -> ItemState:
        _LOGGER.info("job %s: item %s failed: %s", job_id, item.uttid, error.message)
        self.store.mark_item_failed(job_id, item.line_no, error)
        return ItemState.FAILED

    def request(self, job: JobRecord, item: ItemRecord) -> SynthesisRequest:
        """The request of one item: the line's text and voice (or prompt clip) with the job's options."""
        return item_request(self.service, job, item)

    def _start(self, context: _JobContext, item: ItemRecord) -> SynthesisRequest:
        """Decode the item's request and commit ``running`` with the text as the engine reads it."""
        request = self.request(context.job, item)
        description = self.service.describe(request.text, request.options.phoneme, Priority.BATCH).result()
        self.store.mark_item_running(context.job.job_id, item.line_no, description.normalized)
        return request

    def _synthesize(self, context: _JobContext, item: ItemRecord, request: SynthesisRequest) -> None:
        job = context.job
        output = output_path(job, item)
        audio_s, synth_s = synthesize_to_file(
            self.service, request, output, self.settings.sample_rate, context.token
        )
        self.store.mark_item_done(
            job.job_id, item.line_no, output=output.name, synth_s=synth_s, audio_s=audio_s
        )


def item_request(service: SynthesisService, job: JobRecord, item: ItemRecord) -> SynthesisRequest:
    """The request of one job item: the line's text and voice (or prompt clip) with the job's options."""
    decoder = service.decoder
    clip = None
    if item.prompt_path is not None:
        clip = decoder.prompt_file(item.prompt_path, item.prompt_text, _shown_path(job, item.prompt_path))
    fields = {**job.options, "text": item.syn_text, "voice": item.voice, "format": AudioFormat.WAV.value}
    return decoder.decode(fields, clip=clip, request_id=f"{job.job_id}/{item.uttid}", route="job")


def synthesize_to_file(
    service: SynthesisService,
    request: SynthesisRequest,
    output: Path,
    sample_rate: int | None = None,
    cancel: CancelToken | None = None,
) -> tuple[float, float]:
    """Synthesize a job item at batch priority into its WAV; return (audio seconds, synthesis seconds).

    No fsync per file: :meth:`JobRunner.recover` covers a power loss. ``sample_rate`` resamples when it
    differs from the engine's.
    """
    result = service.run(request, Priority.BATCH, cancel=cancel).collect()
    if result.duration_s <= 0:
        raise _NoAudioError(f"the engine produced no audio for {request.request_id!r}")
    audio_s = _write(output, result, sample_rate)
    if result.timestamps != "none":
        for fmt in CAPTION_FORMATS:  # beside the WAV, named after it
            path = output.with_suffix(f".{fmt.value}")
            write_chunks(path, result.chunks, result.sample_rate, fmt, fsync=False)
    return audio_s, result.summary.timings.synth_s


def _write(output: Path, result: Synthesis, target_rate: int | None) -> float:
    if target_rate and target_rate != result.sample_rate:
        samples = resample(result.samples, result.sample_rate, target_rate)
        write_audio(output, samples, target_rate, AudioFormat.WAV, fsync=False)
        return len(samples) / float(target_rate)
    write_chunks(output, result.chunks, result.sample_rate, AudioFormat.WAV, fsync=False)
    return result.duration_s


#: The caption files an item with ``timestamps`` writes beside its WAV (and the archive carries).
CAPTION_FORMATS = (AudioFormat.SRT, AudioFormat.VTT)


class _NoAudioError(GlmttsError):
    error_type = "engine_error"


class _EventCancelToken(CancelToken):
    """A cancel token that follows a job's cancel event."""

    def __init__(self, event: threading.Event) -> None:
        super().__init__()
        self._job_event = event

    def cancel(self) -> None:
        self._job_event.set()

    @property
    def cancelled(self) -> bool:
        return self._job_event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._job_event.is_set():
            raise CancelledError("the job was cancelled")


def _shown_path(job: JobRecord, path: str) -> str:
    """A prompt path as errors show it: relative to the job root (no server paths in results)."""
    try:
        return str(Path(path).relative_to(job.root.resolve()))
    except ValueError:
        return Path(path).name


def _item_error(exc: BaseException) -> ItemError:
    if isinstance(exc, GlmttsError):
        return ItemError(exc.error_type, exc.message)
    return ItemError(
        "io_error" if isinstance(exc, OSError) else "internal_error", f"{type(exc).__name__}: {exc}"
    )


def output_path(job: JobRecord, item: ItemRecord) -> Path:
    """Where an item's WAV goes: ``<out_dir>/<uttid>.wav``."""
    return job.out_dir / f"{item.uttid}.wav"


def has_output(job: JobRecord, item: ItemRecord) -> bool:
    """Whether the item's WAV was written (and holds more than a header)."""
    path = output_path(job, item)
    return path.is_file() and path.stat().st_size > _WAV_HEADER_BYTES


@contextlib.contextmanager
def job_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock so two processes never run the same job at once (POSIX only)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConflictError(f"job output {path.parent} is in use by another process") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
