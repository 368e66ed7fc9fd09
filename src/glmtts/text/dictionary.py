"""Pronunciation dictionaries in the upstream GLM-TTS formats.

``G2P_replace_dict.jsonl``: one JSON object per line mapping source text to a replacement that may mix text
and phoneme tokens (``{"重新": "<|CH|><|ONG2|>新"}``); all lines merge into one dictionary and the longest
matching key wins. A plain pinyin replacement is accepted and converted (``{"重": "chong2"}``, or a non-JSON
line ``重:chong2``). ``custom_replace.jsonl``: one ``{"origin": …, "new": …}`` object per line, applied as plain
text substitutions before normalization of Chinese text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from glmtts.errors import PronunciationDictError, UnknownPhonemeError
from glmtts.text.phonemes import check_tokens, pinyin_to_phoneme_string

_PINYIN_REPLACEMENT = re.compile(r"^\s*[a-zA-Züv:]+[1-5](\s+[a-zA-Züv:]+[1-5])*\s*$")
_PLAIN_LINE = re.compile(r"^(?P<src>[^:：{]+)[:：](?P<dst>.+)$")


def convert_replacement(replacement: str) -> str:
    """Turn a plain pinyin replacement (``"chong2 xin1"``) into phoneme tokens; other text is returned as is."""
    if _PINYIN_REPLACEMENT.match(replacement):
        return pinyin_to_phoneme_string(replacement)
    return replacement


class PronunciationDictionary:
    """Source text → replacement (text mixed with ``<|…|>`` phoneme tokens), longest key wins.

    Entries are validated when added: keys and replacements must be non-empty strings and every phoneme token
    must belong to the upstream inventory. Instances are treated as immutable; use :meth:`merged` to combine.
    """

    def __init__(self, entries: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._entries: dict[str, str] = {}
        pairs = entries.items() if isinstance(entries, Mapping) else entries
        for source, replacement in pairs:
            self._add(source, replacement, where=f"entry {source!r}")
        # Matching runs on normalized (lower-case) text, so keys are looked up lower-cased too.
        self._lookup = {
            key.lower(): value for key, value in self._entries.items() if len(key.lower()) == len(key)
        }
        self._max_key_len = max((len(k) for k in self._lookup), default=0)

    @classmethod
    def from_lines(cls, lines: Iterable[str], source: str = "<dictionary>") -> PronunciationDictionary:
        """Parse ``G2P_replace_dict.jsonl`` lines; errors name ``source:line``. Blank and ``#`` lines are skipped."""
        pairs: list[tuple[str, str]] = []
        for number, raw in enumerate(lines, start=1):
            line = raw.strip().lstrip("\ufeff")
            if not line or line.startswith("#"):
                continue
            where = f"{source}:{number}"
            for src, dst in _parse_line(line, where):
                pairs.append((src, _validated(src, dst, where)))
        return cls(pairs)

    def _add(self, source: str, replacement: str, where: str) -> None:
        self._entries[source] = _validated(source, replacement, where)

    @property
    def entries(self) -> dict[str, str]:
        """A copy of the entries, in file order."""
        return dict(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __getitem__(self, key: str) -> str:
        return self._entries[key]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PronunciationDictionary) and other._entries == self._entries

    __hash__ = None  # type: ignore[assignment]

    def merged(self, other: Mapping[str, str] | Iterable[tuple[str, str]]) -> PronunciationDictionary:
        """A new dictionary: these entries updated by ``other`` (later entries win, as upstream's dict merge)."""
        pairs = other.items() if isinstance(other, Mapping) else other
        return PronunciationDictionary([*self._entries.items(), *pairs])

    def longest_match(self, text: str, start: int) -> tuple[str, str] | None:
        """The longest key that occurs in ``text`` at ``start``, with its replacement, or ``None``."""
        for length in range(min(self._max_key_len, len(text) - start), 0, -1):
            key = text[start : start + length]
            if key in self._lookup:
                return key, self._lookup[key]
        return None

    def to_lines(self) -> list[str]:
        """The entries as ``G2P_replace_dict.jsonl`` lines (one single-key object per line)."""
        return [json.dumps({k: v}, ensure_ascii=False) for k, v in self._entries.items()]

    def save(self, path: Path) -> None:
        """Write the entries to ``path`` atomically in the upstream JSONL format."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text("".join(line + "\n" for line in self.to_lines()), encoding="utf-8")
        temporary.replace(path)


def load_replace_dict(path: Path) -> PronunciationDictionary:
    """Load a ``G2P_replace_dict.jsonl`` file.

    Raises ``PronunciationDictError("<file>:<line>: reason")`` for a malformed line and
    ``UnknownPhonemeError`` (listing the valid tokens) for a token outside the inventory.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PronunciationDictError(f"{path}: cannot read dictionary: {exc}") from exc
    return PronunciationDictionary.from_lines(text.splitlines(), source=str(path))


def load_custom_replace(path: Path) -> tuple[tuple[str, str], ...]:
    """Load a ``custom_replace.jsonl`` file as ``(origin, new)`` pairs, in file order."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PronunciationDictError(f"{path}: cannot read replacements: {exc}") from exc
    pairs: list[tuple[str, str]] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        record = _parse_json_object(line, f"{path}:{number}")
        origin, new = record.get("origin"), record.get("new")
        if not isinstance(origin, str) or not origin or not isinstance(new, str):
            raise PronunciationDictError(
                f'{path}:{number}: expected {{"origin": "…", "new": "…"}} with a non-empty origin'
            )
        pairs.append((origin, new))
    return tuple(pairs)


def _parse_line(line: str, where: str) -> list[tuple[str, str]]:
    if not line.startswith("{"):
        plain = _PLAIN_LINE.match(line)
        if plain is None:
            raise PronunciationDictError(
                f'{where}: expected a JSON object {{"text": "replacement"}} or text:pinyin'
            )
        return [(plain.group("src").strip(), plain.group("dst").strip())]
    record = _parse_json_object(line, where)
    if not record:
        raise PronunciationDictError(f"{where}: empty object")
    pairs: list[tuple[str, str]] = []
    for key, value in record.items():
        if not isinstance(value, str):
            raise PronunciationDictError(f"{where}: the replacement of {key!r} must be a string")
        pairs.append((key, value))
    return pairs


def _parse_json_object(line: str, where: str) -> dict[str, object]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise PronunciationDictError(f"{where}: invalid JSON: {exc.msg} (column {exc.colno})") from exc
    if not isinstance(record, dict):
        raise PronunciationDictError(f"{where}: expected a JSON object, got {type(record).__name__}")
    return record


def _validated(source: str, replacement: str, where: str) -> str:
    if not isinstance(source, str) or not source.strip():
        raise PronunciationDictError(f"{where}: the source text is empty")
    if not isinstance(replacement, str) or not replacement.strip():
        raise PronunciationDictError(f"{where}: the replacement of {source!r} is empty")
    try:
        converted = convert_replacement(replacement)
        check_tokens(converted, where)
    except UnknownPhonemeError as exc:
        if exc.message.startswith(where):
            raise
        raise UnknownPhonemeError(f"{where}: {exc.message}") from exc
    return converted
