"""Choices shown in voice pickers: the engine's built-in voices, then the stored voices."""

from __future__ import annotations

from glmtts.serving.services import Services

DEFAULT_VOICE = "default"


def voice_choices(services: Services) -> list[tuple[str, str]]:
    """``(label, value)`` pairs; values are what :class:`~glmtts.serving.requests.SpeechRequest` accepts."""
    info = services.tts.engine_info
    builtins = list(info.builtin_voices) if info else []
    choices = [(f"{name} · built-in", name) for name in builtins]
    choices += [(f"{record.name} · stored", record.name) for record in services.voices.list()]
    return choices or [("default voice", DEFAULT_VOICE)]


def stored_voice_names(services: Services) -> list[str]:
    return [record.name for record in services.voices.list()]
