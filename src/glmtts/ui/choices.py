"""Choices shown in voice pickers: the engine's built-in voices, then the stored voices."""

from __future__ import annotations

from glmtts.serving.composition import Services
from glmtts.voices import DEFAULT_VOICE


def voice_choices(services: Services) -> list[tuple[str, str]]:
    """``(label, value)`` pairs; values are voice names the voice subsystem resolves."""
    choices = [("default voice", DEFAULT_VOICE)]
    choices += [(f"{name} · built-in", name) for name in services.runtime.host.builtin_voices()]
    choices += [(f"{record.name} · stored", record.name) for record in services.voices.store.list()]
    return choices


def stored_voice_names(services: Services) -> list[str]:
    return [record.name for record in services.voices.store.list()]
