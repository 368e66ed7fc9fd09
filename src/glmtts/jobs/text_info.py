"""What a job records about each item's text: normalized form, segments and phonemes.

The runner stores the normalized text with every item and ``glmtts infer`` writes upstream's
``text_compare.jsonl`` (``syn_text_tn`` as the list of normalized segments, ``syn_text_phoneme``). Both come
from the shared text frontend when it is installed; :func:`describe_plain` is the dependency-free fallback.
"""

from __future__ import annotations

import logging
import threading
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
    """A describer backed by :class:`glmtts.text.TextFrontend`, or :func:`describe_plain` without it.

    The frontend (jieba, pypinyin) loads on a background thread right away, so it overlaps with the engine
    load; the first description waits for it.
    """
    try:
        from glmtts.text import FrontendConfig, TextFrontend
    except ImportError:
        _LOGGER.debug("text frontend unavailable; recording plain text")
        return describe_plain
    frontend: Any = TextFrontend(FrontendConfig())
    load_errors: list[BaseException] = []

    def load() -> None:
        try:
            frontend.load()
        except Exception as exc:  # boundary: without a frontend the job records plain text
            _LOGGER.warning("text frontend failed to load (%s); recording plain text", exc)
            load_errors.append(exc)

    loader = threading.Thread(target=load, name="glmtts-jobs-frontend", daemon=True)
    loader.start()

    def describe(text: str, phoneme: bool = False) -> TextDescription:
        loader.join()
        if load_errors:
            return describe_plain(text, phoneme)
        try:
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
