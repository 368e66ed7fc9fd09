"""Caption text from the timing chunks carry: cues, SRT and WebVTT blocks, and the JSON form of a segment.

A :class:`~glmtts.audio.chunk.CaptionSegment` becomes one cue, or several when its text is longer than
:data:`MAX_CUE_CHARS` and its words are timed (then the cue breaks between words, each piece timed by its
first and last word). A cue's text is wrapped into lines of at most :data:`LINE_CHARS` characters where
it has spaces. SRT times are ``HH:MM:SS,mmm``, WebVTT times ``HH:MM:SS.mmm``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from glmtts.audio.chunk import CaptionSegment, CaptionWord

#: The longest cue text before a segment with timed words is split (two lines of 42).
MAX_CUE_CHARS = 84
LINE_CHARS = 42
VTT_HEADER = "WEBVTT\n\n"


@dataclass(frozen=True)
class Cue:
    """One caption shown from ``start_s`` to ``end_s``."""

    text: str
    start_s: float
    end_s: float


def _clock(seconds: float, separator: str) -> str:
    total_ms = max(0, round(seconds * 1000.0))
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt_time(seconds: float) -> str:
    """``HH:MM:SS,mmm``."""
    return _clock(seconds, ",")


def vtt_time(seconds: float) -> str:
    """``HH:MM:SS.mmm``."""
    return _clock(seconds, ".")


def _one_line(text: str) -> str:
    """Whitespace (newlines included: a blank line ends a cue) collapsed to single spaces."""
    return " ".join(text.split())


def _word_groups(words: tuple[CaptionWord, ...], max_chars: int) -> Iterator[list[CaptionWord]]:
    group: list[CaptionWord] = []
    length = 0
    for word in words:
        if group and length + 1 + len(word.text) > max_chars:
            yield group
            group, length = [], 0
        length += len(word.text) + (1 if group else 0)
        group.append(word)
    if group:
        yield group


def segment_cues(segment: CaptionSegment, max_chars: int = MAX_CUE_CHARS) -> list[Cue]:
    """The cues of one segment (see the module docstring); none for a segment without text."""
    text = _one_line(segment.text)
    if not text:
        return []
    if len(text) <= max_chars or not segment.words:
        return [Cue(text, segment.start_s, segment.end_s)]
    cues = []
    for group in _word_groups(segment.words, max_chars):
        cues.append(Cue(" ".join(w.text for w in group), group[0].start_s, group[-1].end_s))
    return cues


def _lines(text: str) -> str:
    return "\n".join(textwrap.wrap(text, LINE_CHARS, break_long_words=False, break_on_hyphens=False)) or text


def srt_block(index: int, cue: Cue) -> str:
    """One numbered SRT cue, ending with its blank line."""
    return f"{index}\n{srt_time(cue.start_s)} --> {srt_time(cue.end_s)}\n{_lines(cue.text)}\n\n"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_block(cue: Cue) -> str:
    """One WebVTT cue (text escaped: ``&``, ``<``, ``>``), ending with its blank line."""
    return f"{vtt_time(cue.start_s)} --> {vtt_time(cue.end_s)}\n{_vtt_escape(_lines(cue.text))}\n\n"


def srt_text(segments: Iterable[CaptionSegment]) -> str:
    """A whole SRT file of ``segments``."""
    cues = [cue for segment in segments for cue in segment_cues(segment)]
    return "".join(srt_block(index, cue) for index, cue in enumerate(cues, start=1))


def vtt_text(segments: Iterable[CaptionSegment]) -> str:
    """A whole WebVTT file of ``segments``."""
    return VTT_HEADER + "".join(vtt_block(cue) for segment in segments for cue in segment_cues(segment))


def _span_json(item: CaptionSegment | CaptionWord) -> dict[str, Any]:
    return {
        "text": item.text,
        "char_start": item.char_start,
        "char_end": item.char_end,
        "start": round(item.start_s, 4),
        "end": round(item.end_s, 4),
    }


def segment_json(segment: CaptionSegment) -> dict[str, Any]:
    """The JSON form of a segment: ``text char_start char_end start end words`` (seconds)."""
    return {**_span_json(segment), "words": [_span_json(word) for word in segment.words]}
