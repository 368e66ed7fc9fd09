"""Options of the text frontend and the shapes of its results."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path


@dataclass(frozen=True)
class FrontendConfig:
    """How a :class:`~glmtts.text.TextFrontend` is built.

    ``dictionary_path``: a ``G2P_replace_dict.jsonl``; ``None`` picks ``configs/G2P_replace_dict.jsonl`` in the
    working directory when present (where upstream reads it), else the packaged official one.
    ``custom_replace_path``: a ``custom_replace.jsonl``; ``None`` picks ``configs/custom_replace.jsonl`` in the
    working directory when present, else the packaged official one (噢→哦, 欸→诶), applied as upstream
    applies it to every Chinese text. ``extra_dictionary``: also use glmtts's own extra readings
    (``glmtts/data/G2P_extra_dict.jsonl``: classical lines and words pypinyin misreads); they win over the
    dictionary. ``cache_dir``: where unpacked grammars and compiled caches live (default: the platform's user
    cache directory). ``min_units`` / ``max_units``: piece length bounds of upstream's ``split_by_len``.
    ``apply_overrides``: correct the few upstream bugs listed in :mod:`glmtts.text.overrides` (``False``
    reads exactly like upstream). ``preload_phoneme``: start loading phoneme mode's jieba-posseg (with jieba's full
    dictionary) and pypinyin in :meth:`~glmtts.text.TextFrontend.load`, on a background thread (about 2.5 s
    of CPU), instead of on the first phoneme-mode request.
    """

    dictionary_path: Path | None = None
    custom_replace_path: Path | None = None
    cache_dir: Path | None = None
    min_units: int = 30
    max_units: int = 60
    extra_dictionary: bool = False
    apply_overrides: bool = True
    preload_phoneme: bool = False


class TokenKind(str, Enum):
    """What a :class:`G2PToken` holds."""

    ZH = "zh"
    EN = "en"
    PUNCT = "punct"
    SPACE = "space"
    OTHER = "other"


@dataclass(frozen=True)
class G2PToken:
    """One word or mark of a segment.

    ``text``: the characters (a Chinese word, a punctuation mark, or an English word: lower-case as upstream
    normalizes it, except a word written with a capital after its first letter, such as ``GPU`` or
    ``iPhone``, which keeps that case so an engine can spell an acronym). ``pinyin``: for ``ZH`` tokens, one numbered-tone syllable per
    hanzi (neutral tone 5, ü written ``v``) after dictionary overrides, e.g. ``("chong2", "xin1")``.
    ``char_start`` / ``char_end``: the span of the **original** input text the token was read from when
    the frontend was asked for spans (all tokens of one dictionary override share the source's span;
    ``二零二五`` read from ``2025`` spans the digits), else the span of the segment's ``text`` it was read
    from.
    """

    text: str
    kind: TokenKind
    pinyin: tuple[str, ...] = ()
    char_start: int = 0
    char_end: int = 0


@dataclass(frozen=True)
class Segment:
    """One piece of text that an engine synthesizes in one call.

    ``text``: normalized text of the piece (lower-case; upstream normalizes each piece again, so it ends in
    a sentence mark). ``pinyin``: space-joined pinyin of its Chinese characters, ``""`` if none.
    ``phonemes``: the upstream phoneme-mode text for the ``glm`` engine when requested, else ``None``.
    ``char_start`` / ``char_end``: the span of the **original** input text the piece came from (``str``
    offsets, end exclusive, surrounding whitespace excluded; see :mod:`glmtts.text.spans`).
    """

    text: str
    tokens: tuple[G2PToken, ...]
    pinyin: str
    phonemes: str | None
    char_start: int = 0
    char_end: int = 0


@dataclass(frozen=True)
class FrontendResult:
    """What :meth:`~glmtts.text.TextFrontend.analyze` returns."""

    original: str
    normalized: str
    segments: tuple[Segment, ...]
