"""The text frontend every engine uses: normalize, split, read (G2P) and apply pronunciation dictionaries."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from glmtts.errors import NothingToSayError
from glmtts.text.config import FrontendConfig, FrontendResult, Segment
from glmtts.text.dictionary import PronunciationDictionary, load_custom_replace, load_replace_dict
from glmtts.text.g2p import MandarinG2P
from glmtts.text.marks import strip_marks
from glmtts.text.normalize import TextNormalizer, ensure_ending, has_cjk, is_speakable, lower_ascii
from glmtts.text.segment import SegmentAnalyzer
from glmtts.text.split import split_text

_LOGGER = logging.getLogger(__name__)

CWD_DICTIONARY = Path("configs") / "G2P_replace_dict.jsonl"
CWD_CUSTOM_REPLACE = Path("configs") / "custom_replace.jsonl"


def default_cache_dir() -> Path:
    """The user cache directory for compiled text-frontend data."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("glmtts")) / "text"


def resolve_dictionary_path(config: FrontendConfig) -> Path | None:
    """The dictionary file in use: the configured one, else ``configs/G2P_replace_dict.jsonl`` in the working
    directory when present, else ``None`` (the packaged default)."""
    if config.dictionary_path is not None:
        return Path(config.dictionary_path)
    return CWD_DICTIONARY.resolve() if CWD_DICTIONARY.is_file() else None


def load_packaged_dictionary() -> PronunciationDictionary:
    """The default dictionary shipped with glmtts."""
    text = resources.files("glmtts.data").joinpath("G2P_replace_dict.jsonl").read_text(encoding="utf-8")
    return PronunciationDictionary.from_lines(text.splitlines(), source="glmtts/data/G2P_replace_dict.jsonl")


class TextFrontend:
    """Normalization, splitting, G2P and pronunciation control shared by all engines.

    Build with a :class:`FrontendConfig`, call :meth:`load` once (imports pypinyin and jieba and reads the
    dictionaries), then :meth:`analyze` from any thread.
    """

    def __init__(self, config: FrontendConfig = FrontendConfig()) -> None:  # noqa: B008 - frozen, immutable
        if config.min_units <= 0 or config.max_units < config.min_units:
            raise ValueError(f"need 0 < min_units <= max_units, got {config.min_units}, {config.max_units}")
        self._config = config
        self._g2p = MandarinG2P(Path(config.cache_dir) if config.cache_dir else default_cache_dir())
        self._analyzer = SegmentAnalyzer(self._g2p)
        self._normalizer: TextNormalizer | None = None
        self._dictionary: PronunciationDictionary | None = None
        self._dictionary_path = resolve_dictionary_path(config)
        self._load_lock = threading.Lock()
        self._merged: (
            tuple[PronunciationDictionary, tuple[tuple[str, str], ...], PronunciationDictionary] | None
        ) = None

    @property
    def config(self) -> FrontendConfig:
        return self._config

    def load(self) -> None:
        """Read the dictionaries and load the G2P resources (about a second; the first run builds caches)."""
        with self._load_lock:
            self._load_locked()

    def _load_locked(self) -> None:
        started = time.perf_counter()
        if self._dictionary is None:
            path = self._dictionary_path
            self._dictionary = load_replace_dict(path) if path else load_packaged_dictionary()
        if self._normalizer is None:
            custom_path = self._config.custom_replace_path
            if custom_path is None and CWD_CUSTOM_REPLACE.is_file():
                custom_path = CWD_CUSTOM_REPLACE
            self._normalizer = TextNormalizer(load_custom_replace(custom_path) if custom_path else ())
        self._g2p.load()
        _LOGGER.debug("text frontend loaded in %.3f s", time.perf_counter() - started)

    @property
    def dictionary(self) -> PronunciationDictionary:
        """The pronunciation dictionary in use (upstream ``G2P_replace_dict.jsonl`` entries)."""
        if self._dictionary is None:
            self.load()
        assert self._dictionary is not None
        return self._dictionary

    @property
    def dictionary_path(self) -> Path | None:
        """The on-disk dictionary file in use, or ``None`` when the packaged default applies."""
        return self._dictionary_path

    def set_dictionary(self, dictionary: PronunciationDictionary, save_to: Path | None = None) -> None:
        """Replace the dictionary (e.g. after ``PUT /v1/pronunciations``), optionally writing it to ``save_to``."""
        if save_to is not None:
            dictionary.save(Path(save_to))
            self._dictionary_path = Path(save_to)
        self._dictionary = dictionary

    def normalize(self, text: str) -> str:
        """Normalized text (lower-case, numbers and symbols spelled out); ``""`` when nothing is speakable."""
        return self._loaded_normalizer().normalize(text)

    def split(self, normalized: str) -> list[str]:
        """Split normalized text into pieces of ``min_units``–``max_units`` units (upstream ``split_by_len``).

        :meth:`analyze` splits before the protection marks are removed, so it also keeps spoken numbers and
        quoted names whole, which plain normalized text no longer shows.
        """
        return [
            strip_marks(p) for p in split_text(normalized, self._config.min_units, self._config.max_units)
        ]

    def analyze(
        self,
        text: str,
        *,
        phoneme: bool = False,
        extra_entries: Sequence[tuple[str, str]] = (),
        split: bool = True,
    ) -> FrontendResult:
        """Normalize, split and read ``text``.

        ``phoneme``: also build upstream hybrid phoneme text per segment. ``extra_entries``: per-request
        dictionary entries ``(source, replacement)`` that win over the loaded dictionary (plain pinyin such as
        ``"chong2"`` is accepted). Raises ``NothingToSayError`` when nothing speakable is left,
        ``PronunciationDictError``/``UnknownPhonemeError`` for a bad entry.
        """
        dictionary = self._with_entries(tuple(extra_entries)) if extra_entries else self.dictionary
        marked = self._loaded_normalizer().normalize_marked(text)
        if not marked:
            raise NothingToSayError("nothing to say: the text has no letters, digits or Chinese characters")
        pieces = split_text(marked, self._config.min_units, self._config.max_units) if split else [marked]
        segments: list[Segment] = []
        for piece in pieces:
            cased = strip_marks(piece).strip()
            if not is_speakable(cased):
                continue
            cased = ensure_ending(cased, has_cjk(cased))
            segments.append(self._analyzer.analyze(cased, dictionary, phoneme))
        normalized = lower_ascii(strip_marks(marked))
        return FrontendResult(original=text, normalized=normalized, segments=tuple(segments))

    def _with_entries(self, entries: tuple[tuple[str, str], ...]) -> PronunciationDictionary:
        """The dictionary merged with per-request entries; the last merge is reused (a server sends the
        same entries with every request)."""
        base = self.dictionary
        cached = self._merged
        if cached is not None and cached[0] is base and cached[1] == entries:
            return cached[2]
        merged = base.merged(entries)
        self._merged = (base, entries, merged)
        return merged

    def _loaded_normalizer(self) -> TextNormalizer:
        if self._normalizer is None:
            self.load()
        assert self._normalizer is not None
        return self._normalizer
