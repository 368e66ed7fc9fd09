"""Stored voices: prompt clips turned into engine features once, persisted, kept in an in-memory LRU."""

from glmtts.voices.store import PrepareVoice, VoiceRecord, VoiceStore, validate_voice_name

__all__ = ["PrepareVoice", "VoiceRecord", "VoiceStore", "validate_voice_name"]
