"""What a job records about each item's text: normalized form, segments and phonemes.

The runner stores the normalized text with every item and ``glmtts infer`` writes upstream's
``text_compare.jsonl`` (``syn_text_tn`` as the list of normalized segments, ``syn_text_phoneme``). Both come
from the shared text frontend when it is installed; :func:`describe_plain` is the dependency-free fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextDescription:
    normalized: str
    segments: tuple[str, ...]
    #: per segment, the hybrid phoneme text (phoneme mode only)
    phonemes: tuple[str, ...] | None = None


#: (text, phoneme mode) -> description
TextDescriber = Callable[[str, bool], TextDescription]


def describe_plain(text: str, phoneme: bool = False) -> TextDescription:
    """Whitespace-collapsed text as a single segment (used when no frontend is available)."""
    normalized = " ".join(text.split())
    return TextDescription(normalized=normalized, segments=(normalized,) if normalized else ())


def frontend_describer() -> TextDescriber:
    """A describer backed by :class:`glmtts.text.TextFrontend`, or :func:`describe_plain` without it."""
    try:
        from glmtts.text import FrontendConfig, TextFrontend
    except ImportError:
        _LOGGER.debug("text frontend unavailable; recording plain text")
        return describe_plain
    frontend: Any = TextFrontend(FrontendConfig())
    loaded: list[bool] = []

    def describe(text: str, phoneme: bool = False) -> TextDescription:
        try:
            if not loaded:
                frontend.load()
                loaded.append(True)
            result = frontend.analyze(text, phoneme=phoneme)
        except Exception as exc:  # boundary: text the frontend rejects fails later, in the engine
            _LOGGER.debug("frontend could not describe %r: %s", text[:40], exc)
            return describe_plain(text, phoneme)
        segments = tuple(segment.text for segment in result.segments)
        phonemes = None
        if phoneme:
            phonemes = tuple(segment.phonemes or segment.text for segment in result.segments)
        return TextDescription(normalized=result.normalized, segments=segments, phonemes=phonemes)

    return describe
