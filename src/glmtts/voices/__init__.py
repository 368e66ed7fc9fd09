"""The voice subsystem: resolve a request's voice, validate and hash prompt clips, cache and store features."""

from glmtts.voices.clips import PromptClip, PromptLimits, decode_prompt, read_prompt
from glmtts.voices.features import FeatureCache
from glmtts.voices.library import (
    DEFAULT_VOICE,
    OPENAI_VOICES,
    ResolvedVoice,
    VoiceKind,
    VoiceLibrary,
    VoiceSpec,
)
from glmtts.voices.store import VoiceRecord, VoiceStore, validate_voice_name

__all__ = [
    "DEFAULT_VOICE",
    "OPENAI_VOICES",
    "FeatureCache",
    "PromptClip",
    "PromptLimits",
    "ResolvedVoice",
    "VoiceKind",
    "VoiceLibrary",
    "VoiceRecord",
    "VoiceSpec",
    "VoiceStore",
    "decode_prompt",
    "read_prompt",
    "validate_voice_name",
]
