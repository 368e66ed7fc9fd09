"""The server's pronunciation dictionary: upstream ``G2P_replace_dict.jsonl`` lines, editable over HTTP.

Each line is a JSON object mapping source text to its replacement (characters and/or phoneme tokens such as
``<|SH|><|ANG4|>``). Entries are persisted at ``<workdir>/configs/G2P_replace_dict.jsonl`` (the path the
engines pick up at start-up) and passed with every request as ``SynthesisOptions.pronunciations``, so an
edit applies to the next request without a restart.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

from glmtts.errors import PronunciationDictError

MAX_ENTRIES = 100_000
MAX_ENTRY_CHARS = 1_000


def parse_dictionary(text: str) -> tuple[tuple[str, str], ...]:
    """Parse JSONL dictionary text into ``(source, replacement)`` pairs; raise on malformed lines."""
    merged: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PronunciationDictError(f"line {number} is not JSON: {exc.msg}") from None
        if not isinstance(item, dict) or not item:
            raise PronunciationDictError(f'line {number} must be an object like {{"source": "replacement"}}')
        for source, replacement in item.items():
            if not isinstance(replacement, str) or not source or not replacement:
                raise PronunciationDictError(
                    f"line {number}: source and replacement must be non-empty strings"
                )
            if len(source) > MAX_ENTRY_CHARS or len(replacement) > MAX_ENTRY_CHARS:
                raise PronunciationDictError(
                    f"line {number}: entries are limited to {MAX_ENTRY_CHARS} characters"
                )
            merged[source] = replacement
    if len(merged) > MAX_ENTRIES:
        raise PronunciationDictError(f"a dictionary holds at most {MAX_ENTRIES} entries")
    return tuple(merged.items())


def format_dictionary(entries: tuple[tuple[str, str], ...]) -> str:
    """JSONL text, one ``{source: replacement}`` object per line."""
    return "".join(json.dumps({source: target}, ensure_ascii=False) + "\n" for source, target in entries)


class PronunciationStore:
    """Thread-safe in-memory dictionary backed by a JSONL file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._entries: tuple[tuple[str, str], ...] = ()
        if self.path.is_file():
            self._entries = parse_dictionary(self.path.read_text(encoding="utf-8"))

    def entries(self) -> tuple[tuple[str, str], ...]:
        return self._entries

    def text(self) -> str:
        return format_dictionary(self._entries)

    def replace(self, text: str) -> int:
        """Validate and persist new dictionary text (atomically); return the number of entries."""
        entries = parse_dictionary(text)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd, tmp_name = tempfile.mkstemp(prefix=".dict.", suffix=".part", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(format_dictionary(entries))
                os.replace(tmp_name, self.path)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
            self._entries = entries
        return len(entries)
