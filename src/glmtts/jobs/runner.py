"""Runs the items of one stored job, one at a time, durably.

For every item the runner commits ``running`` (one attempt counted), synthesizes through an
:data:`EngineCall` (the engine directly in the CLI, the model-owning worker at batch priority in the
server), writes ``<out_dir>/<uttid>.wav`` atomically (temporary file + rename), then commits ``done``.
After a crash (``kill -9``) :meth:`JobRunner.run` first recovers: a ``running`` item whose WAV exists is
marked done without synthesizing it again; one without is queued again, unless it already used all its
attempts (then it fails as ``interrupted``, so a clip that crashes the process cannot loop forever); stray
temporary files are removed. Transient errors (engine, timeout, overload, I/O) are retried with backoff up to
``max_attempts``; input errors fail the item at once; one failing item never stops the others. Voice
features are prepared once per distinct prompt (or voice name) and shared by every item that uses it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
import soundfile as sf

from glmtts.audio import AudioFormat, read_audio, resample, write_audio
from glmtts.engines.base import CancelToken, Engine, SynthesisOptions, Voice
from glmtts.errors import (
    CancelledError,
    ConflictError,
    EngineError,
    GlmttsError,
    InvalidAudioError,
    NotReadyError,
    OverloadedError,
    RequestTimeoutError,
    UnknownVoiceError,
)
from glmtts.jobs.store import ItemError, ItemRecord, ItemState, JobRecord, JobState, JobStore
from glmtts.jobs.text_info import TextDescriber, describe_plain
from glmtts.jobs.voice_cache import PersistedVoices

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

#: Errors worth another attempt: the engine or the machine hiccuped, the input is not to blame.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    EngineError,
    RequestTimeoutError,
    OverloadedError,
    NotReadyError,
    OSError,
    MemoryError,
)
PARTIAL_SUFFIX = ".part"
_WAV_HEADER_BYTES = 44


class EngineCall(Protocol):
    """Runs ``task(engine)`` where the engine lives and returns its result (or raises its error)."""

    def __call__(self, task: Callable[[Engine], T], cancel: CancelToken | None = None) -> T: ...


class DirectEngineCall:
    """:class:`EngineCall` for a process that owns its engine (CLI, benchmarks)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, task: Callable[[Engine], T], cancel: CancelToken | None = None) -> T:
        return task(self.engine)


#: Looks a stored voice up by name; returns None when no stored voice has that name.
StoredVoiceLookup = Callable[[str], "Voice | None"]
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
    options: SynthesisOptions
    cancel: threading.Event
    stop: threading.Event
    token: CancelToken
    sample_rate: int
    persisted: PersistedVoices
    voices: dict[tuple[str, str | None], Voice | GlmttsError] = field(default_factory=dict)


class JobRunner:
    """Processes the items of stored jobs; see the module docstring for the guarantees."""

    def __init__(
        self,
        store: JobStore,
        engine_call: EngineCall,
        settings: RunnerSettings | None = None,
        *,
        stored_voice: StoredVoiceLookup | None = None,
        describe_text: TextDescriber = describe_plain,
        on_item: ItemObserver | None = None,
    ) -> None:
        self.store = store
        self.engine_call = engine_call
        self.settings = settings or RunnerSettings()
        self._stored_voice = stored_voice
        self._describe_text = describe_text
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
        with _job_lock(job.out_dir / ".lock") if durable else contextlib.nullcontext():
            self.recover(job)
            self.store.set_job_state(job_id, JobState.RUNNING)
            context = self._context(job, cancel or threading.Event(), stop or threading.Event())
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
        # Temp files of every atomic writer: item audio, saved voices (.voices/) and the archive.
        leftovers = [
            *job.out_dir.glob(f".*{PARTIAL_SUFFIX}"),
            *job.out_dir.glob(f".voices/.*{PARTIAL_SUFFIX}"),
            *job.out_dir.parent.glob(f".{job.job_id}.zip.*{PARTIAL_SUFFIX}"),
        ]
        for partial in leftovers:
            partial.unlink(missing_ok=True)
        self._requeue_lost_outputs(job)
        for item in self.store.items(job.job_id, [ItemState.RUNNING]):
            output = _output_path(job, item)
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
            output = _output_path(job, item)
            if not output.is_file() or output.stat().st_size <= _WAV_HEADER_BYTES:
                _LOGGER.warning(
                    "job %s: output of item %s was lost; synthesizing it again", job.job_id, item.uttid
                )
                self.store.requeue_item(job.job_id, item.line_no)

    def _context(self, job: JobRecord, cancel: threading.Event, stop: threading.Event) -> _JobContext:
        options = SynthesisOptions(
            seed=int(job.options.get("seed", 42)),
            phoneme=bool(job.options.get("phoneme", False)),
            use_cache=bool(job.options.get("use_cache", True)),
        )
        token = _EventCancelToken(cancel)
        engine_rate, engine_name = self.engine_call(lambda engine: (engine.sample_rate, engine.name))
        folder = job.out_dir / ".voices" if self.store.path is not None else None
        persisted = PersistedVoices(folder, str(engine_name))
        return _JobContext(job, options, cancel, stop, token, int(engine_rate), persisted)

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
        description = self._describe_text(item.syn_text or "", context.options.phoneme)
        self.store.mark_item_running(job_id, item.line_no, description.normalized)
        attempt = item.attempts + 1
        while True:
            try:
                self._synthesize(context, item)
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

    def _synthesize(self, context: _JobContext, item: ItemRecord) -> None:
        voice = self._voice(context, item)
        text, options, token = item.syn_text or "", context.options, context.token
        started = time.perf_counter()
        samples = self.engine_call(
            lambda engine: engine.synthesize(text, voice, options, token), cancel=token
        )
        synth_s = time.perf_counter() - started
        if samples.size == 0:
            raise _NoAudioError(f"the engine produced no audio for item {item.uttid!r}")
        sample_rate = context.sample_rate
        target_rate = self.settings.sample_rate
        if target_rate and target_rate != sample_rate:
            samples, sample_rate = resample(samples, sample_rate, target_rate), target_rate
        output = _output_path(context.job, item)
        # no fsync per file (~10 ms an item, more than all the job bookkeeping); recover() covers power loss
        write_audio(output, samples, sample_rate, AudioFormat.WAV, fsync=False)
        audio_s = len(samples) / float(sample_rate)
        self.store.mark_item_done(
            context.job.job_id, item.line_no, output=output.name, synth_s=synth_s, audio_s=audio_s
        )

    def _voice(self, context: _JobContext, item: ItemRecord) -> Voice:
        key = (item.prompt_path or f"voice:{item.voice}", item.prompt_text)
        cached = context.voices.get(key)
        if isinstance(cached, Voice):
            return cached
        if isinstance(cached, GlmttsError):
            raise cached
        try:
            voice = self._prepare_voice(context, item)
        except GlmttsError as exc:
            if exc.kind == "input":
                context.voices[key] = exc
            raise
        context.voices[key] = voice
        return voice

    def _prepare_voice(self, context: _JobContext, item: ItemRecord) -> Voice:
        token = context.token
        if item.prompt_path is not None:
            text = item.prompt_text
            voice = context.persisted.load(item.prompt_path, text)
            if voice is not None:
                return voice
            samples, sample_rate = _read_prompt(context.job, item.prompt_path)
            voice = self.engine_call(
                lambda engine: engine.prepare_voice(samples, sample_rate, text), cancel=token
            )
            context.persisted.save(item.prompt_path, text, voice)
            return voice
        name = item.voice or ""
        stored = self._stored_voice(name) if self._stored_voice is not None else None
        if stored is not None:
            return stored
        return self.engine_call(lambda engine: _builtin_voice(engine, name), cancel=token)


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


def _read_prompt(job: JobRecord, path: str) -> tuple[np.ndarray, int]:
    """Decode a prompt clip; errors name it relative to the job root (no server paths in results)."""
    try:
        return read_audio(path)
    except InvalidAudioError as exc:
        try:
            shown = str(Path(path).relative_to(job.root.resolve()))
        except ValueError:
            shown = Path(path).name
        raise InvalidAudioError(exc.message.replace(path, shown)) from None


def _builtin_voice(engine: Engine, name: str) -> Voice:
    if name not in engine.builtin_voices():
        raise UnknownVoiceError(f"unknown voice {name!r}")
    return engine.builtin_voice(name)


def _item_error(exc: BaseException) -> ItemError:
    if isinstance(exc, GlmttsError):
        return ItemError(exc.error_type, exc.message)
    return ItemError(
        "io_error" if isinstance(exc, OSError) else "internal_error", f"{type(exc).__name__}: {exc}"
    )


def _output_path(job: JobRecord, item: ItemRecord) -> Path:
    return job.out_dir / f"{item.uttid}.wav"


@contextlib.contextmanager
def _job_lock(path: Path) -> Iterator[None]:
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
