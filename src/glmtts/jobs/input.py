"""Parse and validate a batch input file (upstream GLM-TTS JSONL) before anything runs.

One JSON object per line::

    {"uttid": "0", "prompt_text": "…", "prompt_speech": "prompts/a.wav", "syn_text": "…"}
    {"uttid": "1", "voice": "narrator", "syn_text": "…"}

The first line may instead be a header holding job options (request fields shared by every item, see
:func:`glmtts.jobs.options.job_options`; the submit call's own options win)::

    {"options": {"captions": true, "seed": 7}}

Whole-file problems (empty, not UTF-8, too big, too many lines, no valid line) raise a typed error. Problems
of single lines do not: each bad line becomes a *rejected* item carrying its line number and reason
(not JSON, not an object, missing field, unsafe or duplicate ``uttid``, prompt path escaping the job root or
missing, and whatever the :class:`LineChecks` refuse: text too long or empty, unknown voice), and the
valid lines run.

File limits (:class:`InputLimits`): 16 MiB per file, 10 000 lines per job, ``uttid`` of at most 128
characters. ``uttid`` becomes a file name, so it may hold letters, digits, ``_``, ``-`` and ``.`` only (any
script; no leading dot, no path separators). Text and prompt limits are those of every request
(:class:`glmtts.synthesis.Limits`), applied by the checks and the resolver.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from glmtts.errors import GlmttsError, InvalidBatchError, PayloadTooLargeError
from glmtts.jobs.store import ItemError, NewItem
from glmtts.voices import PromptLimits


class LineChecks(Protocol):
    """The request-level checks of a line (the synthesis service's; raise a typed error to reject it)."""

    def text(self, value: Any) -> str: ...

    def voice(self, name: str) -> None: ...


_UTTID_RE = re.compile(r"^[\w\-][\w.\-]*$")
_N_PROBLEMS_IN_MESSAGE = 10


@dataclass(frozen=True)
class InputLimits:
    """Bounds on one batch input; see the module docstring for the defaults."""

    max_bytes: int = 16 * 1024 * 1024
    max_lines: int = 10_000
    max_uttid_chars: int = 128


@dataclass(frozen=True)
class BatchInput:
    """The items of a parsed input, in line order; rejected lines carry an ``error``."""

    items: tuple[NewItem, ...]

    @property
    def n_valid(self) -> int:
        return sum(1 for item in self.items if item.error is None)

    @property
    def rejected(self) -> tuple[NewItem, ...]:
        return tuple(item for item in self.items if item.error is not None)


class LineRejected(Exception):
    """A line (or its prompt path) is invalid for ``reason``; parsing turns it into a rejected item."""

    def __init__(self, reason: str, error_type: str = InvalidBatchError.error_type) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type


class PromptResolver:
    """Resolves ``prompt_speech`` paths inside a fixed set of root directories, never outside them.

    A relative path is tried against each root in order; an absolute path must lie inside one of them.
    ``..`` components are judged lexically before any file is looked at, and symbolic links are followed
    only to check that their target stays inside the root.
    """

    def __init__(self, roots: Sequence[Path], max_bytes: int = PromptLimits.max_bytes) -> None:
        if not roots:
            raise ValueError("PromptResolver needs at least one root")
        self.roots = tuple(Path(os.path.abspath(root)) for root in roots)
        self._real_roots = tuple(root.resolve() for root in self.roots)
        self._max_bytes = max_bytes

    def resolve(self, raw: str) -> Path:
        """Return the absolute, symlink-free path of an existing prompt file; raise otherwise."""
        if not raw or "\x00" in raw:
            raise LineRejected("prompt_speech is empty or holds a NUL character")
        escaped = True
        for root, real_root in zip(self.roots, self._real_roots, strict=True):
            candidate = Path(os.path.normpath(root / raw))
            if not _is_inside(candidate, root):
                continue
            real = candidate.resolve()
            if not _is_inside(real, real_root):
                continue
            escaped = False
            if real.is_file():
                return self._checked_size(raw, real)
        if escaped:
            raise LineRejected(f"prompt_speech {raw!r} points outside the job root", "path_outside_root")
        raise LineRejected(f"prompt_speech {raw!r} not found in the job root", "invalid_audio")

    def _checked_size(self, raw: str, path: Path) -> Path:
        size = path.stat().st_size
        if size > self._max_bytes:
            raise LineRejected(
                f"prompt_speech {raw!r} is {size} bytes; at most {self._max_bytes} are accepted",
                PayloadTooLargeError.error_type,
            )
        return path


def _is_inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


HEADER_KEY = "options"


def _header(line: str) -> dict[str, Any] | None:
    """The options of a header line, or None when ``line`` is not a header."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict) or set(record) != {HEADER_KEY}:
        return None
    options = record[HEADER_KEY]
    if not isinstance(options, dict):
        raise InvalidBatchError(f'the header line\'s "{HEADER_KEY}" must be a JSON object')
    return options


def header_options(data: bytes, limits: InputLimits | None = None) -> dict[str, Any]:
    """The job options of the input's header line (empty without one)."""
    lines = _split_lines(data, limits or InputLimits())
    return _header(lines[0][1]) or {}


def parse_batch_input(
    data: bytes,
    resolver: PromptResolver,
    checks: LineChecks | None = None,
    limits: InputLimits | None = None,
) -> BatchInput:
    """Validate a whole JSONL input; raise if nothing in it can run (see the module docstring)."""
    limits = limits or InputLimits()
    lines = _split_lines(data, limits)
    if _header(lines[0][1]) is not None:
        lines = lines[1:]
    parser = _LineParser(resolver, checks, limits)
    items = tuple(parser.parse(line_no, line) for line_no, line in lines)
    batch = BatchInput(items)
    if not items or batch.n_valid == 0:
        raise InvalidBatchError("no valid line in the batch file: " + describe_problems(batch.rejected))
    return batch


def describe_problems(rejected: Sequence[NewItem], limit: int = _N_PROBLEMS_IN_MESSAGE) -> str:
    """``line 3: reason; line 7: reason … and N more`` for error messages and CLI output."""
    parts = [f"line {item.line_no}: {item.error.message}" for item in rejected[:limit] if item.error]
    more = len(rejected) - limit
    return "; ".join(parts) + (f"; … and {more} more" if more > 0 else "")


def _split_lines(data: bytes, limits: InputLimits) -> list[tuple[int, str]]:
    if len(data) > limits.max_bytes:
        raise PayloadTooLargeError(
            f"the batch file is {len(data)} bytes; at most {limits.max_bytes} are accepted"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_no = data[: exc.start].count(b"\n") + 1
        raise InvalidBatchError(
            f"the batch file is not UTF-8 text (bad byte on line {line_no}); expected JSON Lines"
        ) from None
    lines = [(index + 1, line) for index, line in enumerate(text.splitlines()) if line.strip()]
    if not lines:
        raise InvalidBatchError("the batch file is empty; expected one JSON object per line")
    if len(lines) > limits.max_lines:
        raise PayloadTooLargeError(
            f"the batch file has {len(lines)} lines; at most {limits.max_lines} per job"
        )
    return lines


class _LineParser:
    """Validates lines one by one, remembering uttids to catch duplicates."""

    def __init__(self, resolver: PromptResolver, checks: LineChecks | None, limits: InputLimits) -> None:
        self._resolver = resolver
        self._checks = checks
        self._limits = limits
        self._first_line_of: dict[str, int] = {}

    def parse(self, line_no: int, line: str) -> NewItem:
        uttid: str | None = None
        try:
            record = _json_object(line)
            uttid = self._uttid(record, line_no)
            return self._item(record, line_no, uttid)
        except LineRejected as exc:
            return NewItem(line_no=line_no, uttid=uttid, error=ItemError(exc.error_type, exc.reason))
        except GlmttsError as exc:  # a request-level check refused the line
            return NewItem(line_no=line_no, uttid=uttid, error=ItemError(exc.error_type, exc.message))

    def _uttid(self, record: dict[str, Any], line_no: int) -> str:
        raw = record.get("uttid")
        if raw is None:
            raise LineRejected("missing field 'uttid'")
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise LineRejected("uttid must be a string")
        uttid = str(raw)
        if len(uttid) > self._limits.max_uttid_chars or not _UTTID_RE.match(uttid):
            raise LineRejected(
                f"uttid {uttid[:40]!r} is not a safe file name (letters, digits, '_', '-', '.';"
                f" no leading dot; at most {self._limits.max_uttid_chars} characters)"
            )
        first = self._first_line_of.setdefault(uttid, line_no)
        if first != line_no:
            raise LineRejected(f"duplicate uttid {uttid!r} (first on line {first})")
        return uttid

    def _item(self, record: dict[str, Any], line_no: int, uttid: str) -> NewItem:
        syn_text = _string_field(record, "syn_text", required=True)
        assert syn_text is not None
        if not syn_text.strip():
            raise LineRejected("syn_text is empty", "nothing_to_say")
        if self._checks is not None:
            self._checks.text(syn_text)
        prompt_text = _string_field(record, "prompt_text", required=False)
        prompt_speech = _string_field(record, "prompt_speech", required=False)
        voice = _string_field(record, "voice", required=False)
        if prompt_speech and voice:
            raise LineRejected("give either 'prompt_speech' or 'voice', not both")
        if not prompt_speech and not voice:
            raise LineRejected("missing field 'prompt_speech' (or 'voice')")
        prompt_path = self._resolver.resolve(prompt_speech) if prompt_speech else None
        if voice and self._checks is not None:
            self._checks.voice(voice)
        return NewItem(
            line_no=line_no,
            uttid=uttid,
            syn_text=syn_text,
            prompt_text=prompt_text,
            prompt_path=str(prompt_path) if prompt_path else None,
            voice=voice,
        )


def _json_object(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LineRejected(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise LineRejected(f"expected a JSON object, got {type(record).__name__}")
    return record


def _string_field(record: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = record.get(name)
    if value is None:
        if required:
            raise LineRejected(f"missing field {name!r}")
        return None
    if not isinstance(value, str):
        raise LineRejected(f"{name} must be a string, got {type(value).__name__}")
    return value
