"""Typed errors shared by every layer.

Each error carries a stable ``error_type`` (used in HTTP bodies and logs) and a ``kind``: ``"input"``
errors are the caller's fault (CLI exit 2, HTTP 4xx), ``"runtime"`` errors are ours or the machine's
(CLI exit 1, HTTP 5xx). The mapping to HTTP statuses lives in one place in the serving layer.
"""

from __future__ import annotations

from typing import ClassVar


class GlmttsError(Exception):
    """Base class of every error glmtts raises on purpose."""

    error_type: ClassVar[str] = "internal_error"
    kind: ClassVar[str] = "runtime"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def exit_code(self) -> int:
        """CLI exit status: 2 for bad input, 1 for runtime failures."""
        return 2 if self.kind == "input" else 1


class InputError(GlmttsError):
    """The request or the files the user pointed at are wrong."""

    error_type = "invalid_request"
    kind = "input"


class InvalidTextError(InputError):
    error_type = "invalid_text"


class NothingToSayError(InvalidTextError):
    """The text holds nothing speakable (empty, punctuation, emoji only)."""

    error_type = "nothing_to_say"


class TextTooLongError(InvalidTextError):
    error_type = "text_too_long"


class InvalidAudioError(InputError):
    """A prompt clip is unreadable, empty, silent, too short or too long."""

    error_type = "invalid_audio"


class UnsupportedMediaError(InputError):
    error_type = "unsupported_media_type"


class PayloadTooLargeError(InputError):
    error_type = "payload_too_large"


class UnknownVoiceError(InputError):
    error_type = "unknown_voice"


class UnknownEngineError(InputError):
    error_type = "unknown_engine"


class UnsupportedFormatError(InputError):
    error_type = "unsupported_format"


class InvalidOptionError(InputError):
    """An option value (seed, speed, sampling parameter, …) is out of range."""

    error_type = "invalid_option"


class PronunciationDictError(InputError):
    """A pronunciation dictionary file or entry is malformed."""

    error_type = "invalid_dictionary"


class UnknownPhonemeError(InputError):
    error_type = "unknown_phoneme"


class CheckpointError(InputError):
    """A checkpoint directory is missing files or holds mismatched tensors."""

    error_type = "checkpoint_error"


class NotFoundError(InputError):
    error_type = "not_found"


class ConflictError(InputError):
    error_type = "conflict"


class NotReadyError(GlmttsError):
    error_type = "not_ready"


class OverloadedError(GlmttsError):
    """The request queue is full; retry after ``retry_after_s`` seconds."""

    error_type = "overloaded"

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RequestTimeoutError(GlmttsError):
    error_type = "timeout"


class CancelledError(GlmttsError):
    error_type = "cancelled"


class EngineError(GlmttsError):
    """The engine failed while synthesizing (a bug or a device problem)."""

    error_type = "engine_error"


class InvalidBatchError(InputError):
    """A batch input (JSONL file or zip of prompt clips) is malformed or unsafe."""

    error_type = "invalid_batch"


class UnauthorizedError(InputError):
    """A request to ``/v1/*`` lacks the server's API key (``Authorization: Bearer KEY``)."""

    error_type = "unauthorized"
