"""Captions under the result player: one span per caption segment, the one being heard highlighted.

The synthesis service times every segment (:class:`~glmtts.audio.CaptionSegment`); :func:`captions_html`
renders them as spans with their start and end seconds, and the component's small script follows the
result player's ``<audio>`` (its current time, polled while the page is open, so a replaced player or a
seek is picked up too) and marks the span whose time range holds it with ``glmtts-cue-current``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from glmtts.audio import CaptionSegment

CAPTIONS_ID = "synth-captions"
CURRENT_CLASS = "glmtts-cue-current"

#: Runs once when the component mounts (``element`` is its root); the player is looked up at each tick.
FOLLOW_PLAYER_JS = """
const follow = () => {
  const audio = document.querySelector('#synth-result audio[src]');
  const now = audio ? audio.currentTime : -1;
  element.querySelectorAll('[data-start]').forEach((cue) => {
    const on = now >= parseFloat(cue.dataset.start) && now < parseFloat(cue.dataset.end);
    cue.classList.toggle('CURRENT', on);
  });
};
setInterval(follow, 100);
""".replace("CURRENT", CURRENT_CLASS)

CAPTIONS_CSS = """
.glmtts-captions { line-height: 1.8; }
.glmtts-cue { padding: 0 2px; border-radius: 4px; }
.CURRENT { background: #fde68a; color: #111; }
""".replace("CURRENT", CURRENT_CLASS)


def captions_html(segments: Sequence[CaptionSegment]) -> str:
    """The spans of ``segments`` (empty when there are none)."""
    if not segments:
        return ""
    spans = [
        f'<span class="glmtts-cue" data-start="{s.start_s:.3f}" data-end="{s.end_s:.3f}">'
        f"{html.escape(' '.join(s.text.split()))}</span>"
        for s in segments
    ]
    return '<div class="glmtts-captions">' + " ".join(spans) + "</div>"


def captions_component() -> Any:
    """The (empty) captions block; place it under the result player."""
    import gradio as gr

    return gr.HTML(
        "",
        elem_id=CAPTIONS_ID,
        js_on_load=FOLLOW_PLAYER_JS,
        css_template=CAPTIONS_CSS,
        label="Captions",
    )
