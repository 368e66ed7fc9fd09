"""pypinyin's reading data as a compact numbered-tone lexicon, converted once and cached on disk.

Importing pypinyin costs about half a second at every start (it parses its JSON data, copies it and trains
a prefix set for its own segmenter), which alone would use half of the frontend's one-second start-up
budget. The frontend needs only the data: the default reading of each character and the readings of
phrases. This module reads pypinyin's data files once, converts tone marks to numbered tones (``zhòng`` →
``zhong4``, neutral tone 5, ü written ``v``) and stores the result with :mod:`marshal` in the cache
directory; later starts load it in a few tens of milliseconds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import marshal
import unicodedata
from dataclasses import dataclass
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

LEXICON_FORMAT = 1
_TONE_MARKS = {"\u0304": "1", "\u0301": "2", "\u030c": "3", "\u0300": "4"}


def to_numbered(syllable: str) -> str:
    """``"zhòng"`` → ``"zhong4"``, ``"lǜ"`` → ``"lv4"``, ``"de"`` → ``"de5"``, ``"ń"`` → ``"n2"``."""
    tone = "5"
    letters: list[str] = []
    for char in unicodedata.normalize("NFD", syllable):
        if char in _TONE_MARKS:
            tone = _TONE_MARKS[char]
        elif char == "\u0308":  # the diaeresis of ü
            if letters and letters[-1] == "u":
                letters[-1] = "v"
        else:
            letters.append(char)
    return "".join(letters) + tone


@dataclass(frozen=True)
class PinyinLexicon:
    """Default readings of characters and readings of phrases, in numbered-tone pinyin."""

    chars: dict[str, str]
    phrases: dict[str, tuple[str, ...]]

    @property
    def max_phrase_chars(self) -> int:
        return max((len(phrase) for phrase in self.phrases), default=1)

    @classmethod
    def load(cls, cache_dir: Path) -> PinyinLexicon:
        """The lexicon from the cache, converting pypinyin's data on the first run."""
        data_dir = _pypinyin_data_dir()
        sources = [data_dir / "pinyin_dict.json", data_dir / "phrases_dict.json"]
        cache = cache_dir / f"pinyin_lexicon_{_fingerprint(sources)}.marshal"
        if cache.exists():
            try:
                chars, phrases = marshal.loads(cache.read_bytes())
                return cls(chars, phrases)
            except (EOFError, ValueError, TypeError) as exc:
                _LOGGER.warning("rebuilding unreadable lexicon cache %s: %s", cache, exc)
        lexicon = cls.from_pypinyin_data(*sources)
        cache_dir.mkdir(parents=True, exist_ok=True)
        temporary = cache.with_name(cache.name + ".tmp")
        temporary.write_bytes(marshal.dumps((lexicon.chars, lexicon.phrases)))
        temporary.replace(cache)
        return lexicon

    @classmethod
    def from_pypinyin_data(cls, char_file: Path, phrase_file: Path) -> PinyinLexicon:
        """Convert pypinyin's ``pinyin_dict.json`` and ``phrases_dict.json`` (first reading of each)."""
        _LOGGER.info("converting pypinyin data from %s", char_file.parent)
        raw_chars: dict[str, str] = json.loads(char_file.read_text(encoding="utf-8"))
        raw_phrases: dict[str, list[list[str]]] = json.loads(phrase_file.read_text(encoding="utf-8"))
        chars = {chr(int(code)): to_numbered(readings.split(",")[0]) for code, readings in raw_chars.items()}
        phrases = {
            phrase: tuple(to_numbered(options[0]) for options in readings)
            for phrase, readings in raw_phrases.items()
            if len(readings) == len(phrase)
        }
        return cls(chars, phrases)


def _pypinyin_data_dir() -> Path:
    """pypinyin's package directory, found without importing it."""
    spec = importlib.util.find_spec("pypinyin")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pypinyin is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _fingerprint(sources: list[Path]) -> str:
    digest = hashlib.sha1(str(LEXICON_FORMAT).encode())
    for source in sources:
        status = source.stat()
        digest.update(f"{source}:{status.st_size}:{status.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]
