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
from glmtts.text.dictionary import PronunciationDictionary

MAX_ENTRIES = 100_000
MAX_ENTRY_CHARS = 1_000


def parse_dictionary(text: str) -> tuple[tuple[str, str], ...]:
    """Parse JSONL dictionary text into ``(source, replacement)`` pairs; raise on malformed lines.

    Validation is the text frontend's (:class:`glmtts.text.PronunciationDictionary`): errors name the line,
    phoneme tokens must be in the upstream inventory and plain pinyin (``重:chong2``) is converted. This module
    only adds the server's size limits.
    """
    lines = text.splitlines()
    if len(lines) > MAX_ENTRIES:
        raise PronunciationDictError(f"a dictionary holds at most {MAX_ENTRIES} entries")
    dictionary = PronunciationDictionary.from_lines(lines, source="dictionary")
    for source, replacement in dictionary.entries.items():
        if len(source) > MAX_ENTRY_CHARS or len(replacement) > MAX_ENTRY_CHARS:
            raise PronunciationDictError(
                f"entry {source[:40]!r}: entries are limited to {MAX_ENTRY_CHARS} characters"
            )
    return tuple(dictionary.entries.items())


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
