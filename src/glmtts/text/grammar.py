"""WeTextProcessing's normalization grammars, run on the light ``kaldifst`` runtime (no pynini).

The official GLM-TTS frontend normalizes text with WeTextProcessing 1.0.3: ``ZhNormalizer(remove_erhua=False,
full_to_half=True, remove_interjections=False, overwrite_cache=True)`` and ``EnNormalizer()``. A grammar is
two finite-state transducers: the *tagger* rewrites raw text into tokens (``cardinal { integer: "一百" }``),
the tokens' fields are put in a fixed order, and the *verbalizer* turns the tokens into the spoken text.

Which grammar files: chosen by agreement with the official outputs (``tests/data/glmtts-ref/cases/text_frontend``,
208 sentences, and 209 more run through the official code, ``tests/data/text_frontend``), each run inside the
official wrapper rules of :mod:`glmtts.text.normalize` without overrides:

* ``zh``: the FSTs WeTextProcessing 1.0.3 builds (pynini 2.1.5) with the official options above: 417 of 417
  official. They are not the FSTs in the 1.0.3 wheel, which are built with the defaults and drop
  interjections and erhua (its verbalizer differs, the tagger is byte-identical): 413 of 417. The ``wetext``
  0.1.8 package's own FSTs are a later grammar: 189 of the 208 reference sentences.
* ``en``: the FSTs shipped in the WeTextProcessing 1.0.3 wheel, which the official ``EnNormalizer()`` loads
  (it is built with ``overwrite_cache=False``).

Run through ``kaldifst.TextNormalizer`` (compose with the input string, shortest path), the same files give
pynini's output on every call those 417 sentences make. They are stored as OpenFst *const* FSTs,
xz-compressed in ``glmtts/data/wetext`` (see the NOTICE there), and unpacked once into the cache directory,
from where they load in milliseconds.
"""

from __future__ import annotations

import hashlib
import logging
import lzma
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)

GRAMMAR_NAME = "WeTextProcessing"
GRAMMAR_VERSION = "1.0.3"
GRAMMAR_SOURCE = (
    "zh: FSTs built by WeTextProcessing 1.0.3 with GLM-TTS's options (remove_erhua=False, full_to_half=True, "
    "remove_interjections=False, traditional_to_simple=True); en: the FSTs of the WeTextProcessing 1.0.3 wheel"
)
_DATA_PACKAGE = "glmtts.data"
_DATA_FOLDER = "wetext"

# Field order of a token before verbalization (WeTextProcessing 1.0.3 ``tn.token_parser``): fields of a
# listed token that are not in its list are dropped, as upstream does; other tokens keep their order.
ZH_FIELD_ORDERS: dict[str, tuple[str, ...]] = {
    "date": ("year", "month", "day"),
    "fraction": ("denominator", "numerator"),
    "measure": ("denominator", "numerator", "value"),
    "money": ("value", "currency"),
    "time": ("noon", "hour", "minute", "second"),
}
EN_FIELD_ORDERS: dict[str, tuple[str, ...]] = {
    "date": ("preserve_order", "text", "day", "month", "year"),
    "money": ("integer_part", "fractional_part", "quantity", "currency_maj"),
}

_TOKEN = re.compile(r'\s*([A-Za-z_]+) ?\{((?:\s*[A-Za-z_]+: "(?:[^"\\]|\\.)*")*)\s*\}')
_FIELD = re.compile(r'([A-Za-z_]+): "((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class NormalizerInfo:
    """Which normalizer ran: shown by ``glmtts text --json`` and the frontend's status."""

    name: str
    version: str
    source: str
    runtime: str


def reorder_tokens(tagged: str, orders: dict[str, tuple[str, ...]]) -> str:
    """Put each token's fields in the verbalizer's order: ``time { hour: "3" noon: "下午" }`` →
    ``time { noon: "下午" hour: "3" }``. Values keep their escapes. Raises ``ValueError`` on malformed input."""
    tokens: list[str] = []
    position = 0
    while position < len(tagged) and not tagged[position:].isspace():
        match = _TOKEN.match(tagged, position)
        if match is None:
            raise ValueError(f"malformed tagger output at {position}: {tagged[position : position + 40]!r}")
        name, body = match.group(1), match.group(2)
        fields = _FIELD.findall(body)
        order = orders.get(name)
        if order is not None and ("preserve_order", "true") not in fields:
            values = dict(fields)
            fields = [(key, values[key]) for key in order if key in values]
        tokens.append(name + " {" + "".join(f' {key}: "{value}"' for key, value in fields) + " }")
        position = match.end()
    return " ".join(tokens)


class Grammar:
    """One language's tagger and verbalizer: :meth:`normalize` runs tag → reorder → verbalize."""

    def __init__(self, tagger: Any, verbalizer: Any, orders: dict[str, tuple[str, ...]]) -> None:
        self._tagger = tagger
        self._verbalizer = verbalizer
        self._orders = orders

    def tag(self, text: str) -> str:
        """The tagger's tokens for ``text`` (``""`` for empty text)."""
        return str(self._tagger(text)) if text else ""

    def normalize(self, text: str) -> str:
        """Spoken form of ``text``; text the grammar cannot tag is returned unchanged."""
        tagged = self.tag(text)
        if not tagged:
            if text:
                _LOGGER.debug("grammar found no path through %r; kept as is", text[:60])
            return text
        return str(self._verbalizer(reorder_tokens(tagged, self._orders)))


class GrammarSet:
    """The Chinese and English grammars, unpacked into ``cache_dir`` and loaded by :meth:`load`."""

    def __init__(self, cache_dir: Path) -> None:
        self._cache_dir = cache_dir
        self.zh: Grammar | None = None
        self.en: Grammar | None = None

    @property
    def info(self) -> NormalizerInfo:
        """Name, version and source of the grammars and the runtime that runs them."""
        return NormalizerInfo(
            GRAMMAR_NAME, GRAMMAR_VERSION, GRAMMAR_SOURCE, f"kaldifst {_kaldifst_version()}"
        )

    def load(self) -> None:
        """Unpack the FSTs on first use (about 0.2 s) and load them (milliseconds)."""
        if self.zh is not None and self.en is not None:
            return
        from kaldifst import TextNormalizer

        folder = unpack_fsts(self._cache_dir)
        self.zh = Grammar(
            TextNormalizer(str(folder / "zh_tn_tagger.fst")),
            TextNormalizer(str(folder / "zh_tn_verbalizer.fst")),
            ZH_FIELD_ORDERS,
        )
        self.en = Grammar(
            TextNormalizer(str(folder / "en_tn_tagger.fst")),
            TextNormalizer(str(folder / "en_tn_verbalizer.fst")),
            EN_FIELD_ORDERS,
        )


FST_NAMES = ("zh_tn_tagger", "zh_tn_verbalizer", "en_tn_tagger", "en_tn_verbalizer")


def unpack_fsts(cache_dir: Path) -> Path:
    """The folder in ``cache_dir`` holding the unpacked FSTs, unpacking the packaged ``.fst.xz`` files if the
    folder for this exact data (named by its hash) is missing."""
    folder_resource = resources.files(_DATA_PACKAGE).joinpath(_DATA_FOLDER)
    packed = {name: folder_resource.joinpath(f"{name}.fst.xz").read_bytes() for name in FST_NAMES}
    digest = hashlib.sha1()
    for name in FST_NAMES:
        digest.update(name.encode() + packed[name])
    folder = cache_dir / f"wetext-{GRAMMAR_VERSION}-{digest.hexdigest()[:12]}"
    if all((folder / f"{name}.fst").is_file() for name in FST_NAMES):
        return folder
    _LOGGER.info("unpacking the WeTextProcessing grammars into %s", folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in FST_NAMES:
        target = folder / f"{name}.fst"
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_bytes(lzma.decompress(packed[name]))
        temporary.replace(target)
    return folder


def _kaldifst_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kaldifst")
    except PackageNotFoundError:
        return "unknown"
