"""The text frontend every engine uses: normalize, split, re-normalize each piece, read it, phoneme mode.

The pipeline is the official GLM-TTS ``generate_long`` path: ``text_normalize`` the input, ``split_by_len`` it
(30/60), ``text_normalize`` each piece again and, in phoneme mode, ``g2p_infer`` the piece. Each piece is
also read word by word with pinyin (:mod:`glmtts.text.segment`) for engines that speak pinyin (``kokoro``).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from glmtts.errors import NothingToSayError
from glmtts.text.config import FrontendConfig, FrontendResult, Segment, TokenKind
from glmtts.text.dictionary import PronunciationDictionary, load_custom_replace, load_replace_dict
from glmtts.text.g2p import MandarinG2P
from glmtts.text.grammar import GrammarSet, NormalizerInfo
from glmtts.text.normalize import TextNormalizer, is_speakable
from glmtts.text.phoneme_mode import PhonemeModeG2P
from glmtts.text.rules import contains_chinese, prepare
from glmtts.text.segment import SegmentAnalyzer
from glmtts.text.spans import PieceMap, SourceMap, split_source
from glmtts.text.split import split_text

_LOGGER = logging.getLogger(__name__)

CWD_DICTIONARY = Path("configs") / "G2P_replace_dict.jsonl"
CWD_CUSTOM_REPLACE = Path("configs") / "custom_replace.jsonl"
_CASED_WORD = re.compile(r"[A-Za-z][A-Za-z']*")


def default_cache_dir() -> Path:
    """The user cache directory for compiled text-frontend data."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("glmtts")) / "text"


def resolve_dictionary_path(config: FrontendConfig) -> Path | None:
    """The dictionary file in use: the configured one, else ``configs/G2P_replace_dict.jsonl`` in the working
    directory when present, else ``None`` (the packaged official dictionary)."""
    if config.dictionary_path is not None:
        return Path(config.dictionary_path)
    return CWD_DICTIONARY.resolve() if CWD_DICTIONARY.is_file() else None


def _packaged_lines(name: str) -> list[str]:
    return resources.files("glmtts.data").joinpath(name).read_text(encoding="utf-8").splitlines()


def load_packaged_dictionary() -> PronunciationDictionary:
    """The official ``G2P_replace_dict.jsonl`` shipped with glmtts."""
    return PronunciationDictionary.from_lines(
        _packaged_lines("G2P_replace_dict.jsonl"), "G2P_replace_dict.jsonl"
    )


def load_extra_dictionary() -> PronunciationDictionary:
    """glmtts's optional extra readings (``G2P_extra_dict.jsonl``), used with ``extra_dictionary=True``."""
    return PronunciationDictionary.from_lines(_packaged_lines("G2P_extra_dict.jsonl"), "G2P_extra_dict.jsonl")


def load_packaged_custom_replace() -> tuple[tuple[str, str], ...]:
    """The official ``custom_replace.jsonl`` pairs shipped with glmtts."""
    path = resources.files("glmtts.data").joinpath("custom_replace.jsonl")
    with resources.as_file(path) as file:
        return load_custom_replace(file)


def cased_words(text: str) -> dict[str, str]:
    """Lower-case word → how it was written, for words written with a capital after the first letter
    (acronyms such as ``GPU``, ``iPhone``)."""
    return {word.lower(): word for word in _CASED_WORD.findall(text) if any(c.isupper() for c in word[1:])}


class TextFrontend:
    """Normalization, splitting, G2P and pronunciation control shared by all engines.

    Build with a :class:`FrontendConfig`, call :meth:`load` once (unpacks and loads the grammars, reads the
    dictionaries, loads the pinyin G2P), then :meth:`analyze` from any thread.
    """

    def __init__(self, config: FrontendConfig = FrontendConfig()) -> None:  # noqa: B008 - frozen, immutable
        if config.min_units <= 0 or config.max_units < config.min_units:
            raise ValueError(f"need 0 < min_units <= max_units, got {config.min_units}, {config.max_units}")
        self._config = config
        cache_dir = Path(config.cache_dir) if config.cache_dir else default_cache_dir()
        self._g2p = MandarinG2P(cache_dir)
        self._analyzer = SegmentAnalyzer(self._g2p)
        self._grammars = GrammarSet(cache_dir)
        self._phoneme_g2p = PhonemeModeG2P(cache_dir)
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

    @property
    def normalizer_info(self) -> NormalizerInfo:
        """Which normalizer runs: name, version, grammar source and runtime."""
        return self._grammars.info

    def load(self) -> None:
        """Load grammars, dictionaries and the pinyin G2P (about half a second once the caches exist). With
        ``preload_phoneme``, phoneme mode's resources start loading on a background thread (about 2.5 s of
        CPU; a phoneme-mode request waits for them)."""
        with self._load_lock:
            started = time.perf_counter()
            if self._dictionary is None:
                self._dictionary = self._read_dictionary()
            if self._normalizer is None:
                self._grammars.load()
                self._normalizer = TextNormalizer(
                    self._grammars, self._read_custom_replace(), self._config.apply_overrides
                )
            self._g2p.load()
            _LOGGER.debug("text frontend loaded in %.3f s", time.perf_counter() - started)
        if self._config.preload_phoneme and not self._phoneme_g2p.loaded:
            threading.Thread(target=self._phoneme_g2p.load, name="glmtts-phoneme-load", daemon=True).start()

    def _read_dictionary(self) -> PronunciationDictionary:
        path = self._dictionary_path
        dictionary = load_replace_dict(path) if path else load_packaged_dictionary()
        if self._config.extra_dictionary:
            dictionary = dictionary.merged(load_extra_dictionary().entries)
        return dictionary

    def _read_custom_replace(self) -> tuple[tuple[str, str], ...]:
        path = self._config.custom_replace_path
        if path is None and CWD_CUSTOM_REPLACE.is_file():
            path = CWD_CUSTOM_REPLACE
        return load_custom_replace(Path(path)) if path is not None else load_packaged_custom_replace()

    @property
    def dictionary(self) -> PronunciationDictionary:
        """The pronunciation dictionary in use (``G2P_replace_dict.jsonl`` entries, extras merged in)."""
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
        """Upstream ``text_normalize`` (lower-case, numbers and symbols spelled out); ``""`` when nothing
        speakable is left (upstream would give ``"."``)."""
        normalized = self._loaded_normalizer().normalize(text)
        return normalized if is_speakable(normalized) else ""

    def split(self, normalized: str) -> list[str]:
        """Upstream ``split_by_len``: pieces of ``min_units``–``max_units`` units."""
        return split_text(normalized, self._config.min_units, self._config.max_units)

    def analyze(
        self,
        text: str,
        *,
        phoneme: bool = False,
        extra_entries: Sequence[tuple[str, str]] = (),
        split: bool = True,
        spans: bool = True,
    ) -> FrontendResult:
        """Normalize, split, re-normalize each piece and read it.

        ``phoneme``: also build the upstream phoneme-mode text of each piece. ``extra_entries``: per-request
        dictionary entries ``(source, replacement)`` that win over the loaded dictionary (plain pinyin such as
        ``"chong2"`` is accepted). Raises ``NothingToSayError`` when nothing speakable is left,
        ``PronunciationDictError``/``UnknownPhonemeError`` for a bad entry.
        """
        dictionary = self._with_entries(tuple(extra_entries)) if extra_entries else self.dictionary
        normalizer = self._loaded_normalizer()
        cased = normalizer.normalize_cased(text)
        normalized = cased.lower()
        if not is_speakable(normalized):
            raise NothingToSayError("nothing to say: the text has no letters, digits or Chinese characters")
        words = cased_words(cased)
        source = self._source_map(text, normalized) if spans else None
        segments: list[Segment] = []
        piece_end = 0
        for piece in self.split(normalized) if split else [normalized]:
            piece_start, piece_end = piece_end, piece_end + len(piece)
            piece_text = normalizer.normalize(piece)
            if not is_speakable(piece_text):
                continue
            phonemes = self._phoneme_g2p.convert(piece_text, dictionary) if phoneme else None
            segment = self._analyzer.analyze(piece_text, dictionary, phonemes, words)
            if source is not None:
                segment = _with_spans(text, segment, source, piece, piece_start, piece_end)
            segments.append(segment)
        return FrontendResult(original=text, normalized=normalized, segments=tuple(segments))

    def _source_map(self, text: str, normalized: str) -> PieceMap:
        """The map from ``normalized`` back to ``text``: clause pieces of ``text`` normalized one by one
        with the whole text's language rules (see :mod:`glmtts.text.spans`)."""
        normalizer = self._loaded_normalizer()
        chinese = contains_chinese(prepare(text))
        pieces = split_source(text)
        normalized_pieces = [normalizer.normalize(text[start:end], chinese) for start, end in pieces]
        return PieceMap(text, normalized, pieces, normalized_pieces)

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


def _with_spans(
    text: str, segment: Segment, source: PieceMap, piece: str, piece_start: int, piece_end: int
) -> Segment:
    """``segment`` (``piece`` of the normalized text, normalized again) with the original spans of itself
    and of its tokens (whose offsets are into the segment's text until here)."""
    char_start, char_end = source.span(piece_start, piece_end)
    inner = SourceMap(piece, segment.text)
    tokens = []
    for token in segment.tokens:
        start = piece_start + inner.boundary(token.char_start, -1)
        end = piece_start + inner.boundary(token.char_end, 1)
        token_start, token_end = source.span(start, end, whole_units=True)
        if token.kind is not TokenKind.PUNCT:
            token_start, token_end = _without_marks(text, token_start, token_end)
        tokens.append(dataclasses.replace(token, char_start=token_start, char_end=token_end))
    return dataclasses.replace(segment, char_start=char_start, char_end=char_end, tokens=tuple(tokens))


def _without_marks(text: str, start: int, end: int) -> tuple[int, int]:
    """``text[start:end]`` without the punctuation at its ends (quotes and brackets the normalizer
    dropped join the token beside them), unless nothing else is left."""
    inner_start, inner_end = start, end
    while inner_start < inner_end and unicodedata.category(text[inner_start])[0] in "PZ":
        inner_start += 1
    while inner_end > inner_start and unicodedata.category(text[inner_end - 1])[0] in "PZ":
        inner_end -= 1
    return (inner_start, inner_end) if inner_end > inner_start else (start, end)
