"""The server's editable pronunciation entries: upstream ``G2P_replace_dict.jsonl`` lines, over HTTP and UI.

Each line is a JSON object mapping source text to its replacement (characters and/or phoneme tokens such as
``<|SH|><|ANG4|>``). Entries persist at ``<workdir>/configs/G2P_replace_dict.jsonl`` and are the live
additions to the engine's dictionary (:meth:`glmtts.engines.base.Engine.set_pronunciations`): applied at
load and again after every edit, for every front end (HTTP, UI, jobs) alike.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from glmtts.atomic import atomic_write
from glmtts.errors import PronunciationDictError
from glmtts.text import PronunciationDictionary

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
    """Thread-safe in-memory entries backed by a JSONL file."""

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

    def replace(self, text: str) -> tuple[tuple[str, str], ...]:
        """Validate and persist new dictionary text; return the entries (apply them to the engine next)."""
        entries = parse_dictionary(text)
        with self._lock:
            with atomic_write(self.path, "w") as handle:
                handle.write(format_dictionary(entries))
            self._entries = entries
        return entries
