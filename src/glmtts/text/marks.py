"""Invisible marks the normalizer puts around spans the splitter must keep whole.

Verbalized numbers, dates, phone numbers and quoted names are wrapped in two private-use characters so
that :mod:`glmtts.text.split` never cuts inside them; :func:`strip_marks` removes the marks afterwards.
"""

from __future__ import annotations

PROTECT_OPEN = "\ue000"
PROTECT_CLOSE = "\ue001"
_MARKS_TABLE = str.maketrans("", "", PROTECT_OPEN + PROTECT_CLOSE)


def protect(text: str) -> str:
    """Wrap ``text`` so that it is never split."""
    return f"{PROTECT_OPEN}{text}{PROTECT_CLOSE}" if text else text


def strip_marks(text: str) -> str:
    """Remove protection marks."""
    return text.translate(_MARKS_TABLE)
