"""The server's editable pronunciation entries: upstream ``G2P_replace_dict.jsonl`` lines, over HTTP and UI.

Each line is a JSON object mapping source text to its replacement (characters and/or phoneme tokens such as
``<|SH|><|ANG4|>``). Entries persist at ``<workdir>/configs/G2P_replace_dict.jsonl`` and are the live
additions to the engine's dictionary (:meth:`glmtts.engines.base.Engine.set_pronunciations`): applied at
load and again after every edit, for every front end (HTTP, UI, jobs) alike.

Several processes may share one file (a fleet of replicas on a shared ``workdir``): the file's identity
(inode, size, modification time; every write replaces the file) is its version, and
:meth:`PronunciationStore.reload_if_changed` re-reads it when another process wrote a new one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from glmtts.atomic import atomic_write
from glmtts.errors import PronunciationDictError
from glmtts.text import PronunciationDictionary

_LOGGER = logging.getLogger(__name__)

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
        self._version = self._file_version()
        if self._version is not None:
            self._entries = parse_dictionary(self.path.read_text(encoding="utf-8"))

    def _file_version(self) -> tuple[int, int, int] | None:
        """The file's identity (None: no file); every write replaces the file, so it changes."""
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def reload_if_changed(self) -> tuple[tuple[str, str], ...] | None:
        """Re-read the file if another process replaced it; return the new entries, None when unchanged.

        One ``stat`` when nothing changed, cheap enough to call per request. A file that does not parse
        (a hand edit in progress) is logged and ignored; the entries in use stay.
        """
        version = self._file_version()
        if version == self._version or version is None:
            return None
        with self._lock:
            if version == self._version:
                return None
            self._version = version
            try:
                self._entries = parse_dictionary(self.path.read_text(encoding="utf-8"))
            except (OSError, PronunciationDictError) as exc:
                _LOGGER.warning("pronunciation file %s changed but is unusable: %s", self.path, exc)
                return None
            return self._entries

    def entries(self) -> tuple[tuple[str, str], ...]:
        return self._entries

    def text(self) -> str:
        return format_dictionary(self._entries)

    def forget_version(self) -> None:
        """Make the next :meth:`reload_if_changed` read the file again (its entries were not applied)."""
        with self._lock:
            self._version = None

    def replace(self, text: str) -> tuple[tuple[str, str], ...]:
        """Validate and persist new dictionary text; return the entries (apply them to the engine next)."""
        entries = parse_dictionary(text)
        with self._lock:
            with atomic_write(self.path, "w") as handle:
                handle.write(format_dictionary(entries))
            self._entries = entries
            self._version = self._file_version()
        return entries
