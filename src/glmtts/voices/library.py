"""The one voice subsystem: what a request's voice means, and its features, cached once.

Resolution (:meth:`VoiceLibrary.resolve`), the same for every front end:

* a prompt clip → that clip (by content id);
* no name or ``"default"`` → the engine's default built-in voice;
* a built-in voice name → that voice;
* an OpenAI name (``alloy``, ``ash``, …) → a built-in voice, in order, wrapping around;
* a stored voice's name or id → that voice;
* anything else → :class:`~glmtts.errors.UnknownVoiceError`.

Features (:meth:`VoiceLibrary.voice_for`, on the model thread) come from the one in-memory LRU (keyed by
content id), else the stored voice's file or the on-disk :class:`~glmtts.voices.features.FeatureCache`,
else ``engine.prepare_voice``. Engines keep no voice cache of their own.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from glmtts.errors import UnknownVoiceError
from glmtts.voices.clips import PromptClip
from glmtts.voices.features import FeatureCache
from glmtts.voices.lru import LruCache
from glmtts.voices.store import VoiceRecord, VoiceStore

if TYPE_CHECKING:
    from glmtts.engines.base import Engine, Voice

_LOGGER = logging.getLogger(__name__)

DEFAULT_VOICE = "default"
#: OpenAI's voice names, mapped in this order onto the engine's built-in voices (wrapping around).
OPENAI_VOICES = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse",
)  # fmt: skip


class VoiceKind(str, enum.Enum):
    BUILTIN = "builtin"
    STORED = "stored"
    PROMPT = "prompt"


@dataclass(frozen=True)
class VoiceSpec:
    """What a request says about its voice: a name (built-in, OpenAI, stored name or id) or a clip."""

    name: str | None = None
    clip: PromptClip | None = None


@dataclass(frozen=True)
class ResolvedVoice:
    """A voice choice checked against what exists: ``key`` is a built-in name (None: the default), a
    stored voice id or a clip's content id."""

    kind: VoiceKind
    key: str | None = None
    clip: PromptClip | None = None


class VoiceLibrary:
    """Resolves voices and hands out their features from one cache; see the module docstring."""

    def __init__(
        self, store: VoiceStore, engine_name: str, cache_size: int = 64, disk: FeatureCache | None = None
    ) -> None:
        self.store = store
        self.engine_name = engine_name
        self._cache = LruCache[str, "Voice"](cache_size)
        self._disk = disk
        if disk is not None:
            disk.clean()

    # ------------------------------------------------------------------ resolution
    def resolve(self, spec: VoiceSpec, builtins: tuple[str, ...]) -> ResolvedVoice:
        """Decide which voice ``spec`` means without touching the engine; raise for unknown names."""
        if spec.clip is not None:
            return ResolvedVoice(VoiceKind.PROMPT, spec.clip.content_id, spec.clip)
        name = (spec.name or "").strip()
        if not name or name == DEFAULT_VOICE:
            return ResolvedVoice(VoiceKind.BUILTIN, None)
        if name in builtins:
            return ResolvedVoice(VoiceKind.BUILTIN, name)
        if name.lower() in OPENAI_VOICES and builtins:
            return ResolvedVoice(VoiceKind.BUILTIN, self.openai_aliases(builtins)[name.lower()])
        record = self.store.find(name)
        if record is not None:
            return ResolvedVoice(VoiceKind.STORED, record.voice_id)
        choices = ", ".join([DEFAULT_VOICE, *builtins, *OPENAI_VOICES][:24])
        raise UnknownVoiceError(
            f"unknown voice {name[:80]!r}; use a stored voice (GET /v1/voices), a built-in voice or an "
            f"OpenAI name ({choices})"
        )

    @staticmethod
    def openai_aliases(builtins: tuple[str, ...]) -> dict[str, str]:
        """OpenAI name → built-in voice."""
        if not builtins:
            return {}
        return {name: builtins[index % len(builtins)] for index, name in enumerate(OPENAI_VOICES)}

    # ------------------------------------------------------------------ features (model thread)
    def voice_for(self, engine: Engine, resolved: ResolvedVoice) -> tuple[Voice, bool]:
        """The engine voice of a resolved choice and whether it came from a cache."""
        if resolved.kind is VoiceKind.BUILTIN:
            return engine.builtin_voice(resolved.key), True
        assert resolved.key is not None
        cached = self._cache.get(resolved.key)
        if cached is not None:
            return cached, True
        if resolved.kind is VoiceKind.STORED:
            return self._stored_voice(engine, resolved.key), False
        assert resolved.clip is not None
        return self._prompt_voice(engine, resolved.clip)

    def _stored_voice(self, engine: Engine, voice_id: str) -> Voice:
        record = self.store.by_id(voice_id)
        if record is None:
            raise UnknownVoiceError(f"voice {voice_id!r} was removed")
        features = self.store.features(record, self.engine_name)
        if features is None:
            samples, sample_rate = self.store.clip(record)
            features = dict(engine.prepare_voice(samples, sample_rate, record.prompt_text).features)
            self.store.add_features(record.voice_id, self.engine_name, features)
        return self._remember(record.voice_id, record.prompt_text, features)

    def _prompt_voice(self, engine: Engine, clip: PromptClip) -> tuple[Voice, bool]:
        record = self.store.by_id(clip.content_id)
        if record is not None:
            return self._stored_voice(engine, record.voice_id), False
        features = self._disk.get(self.engine_name, clip.content_id) if self._disk is not None else None
        if features is not None:
            return self._remember(clip.content_id, clip.prompt_text, features), True
        prepared = engine.prepare_voice(clip.samples, clip.sample_rate, clip.prompt_text)
        if self._disk is not None:
            self._disk.put(self.engine_name, clip.content_id, prepared.features)
        return self._remember(clip.content_id, clip.prompt_text, prepared.features), False

    def _remember(self, voice_id: str, prompt_text: str | None, features: Mapping[str, np.ndarray]) -> Voice:
        from glmtts.engines.base import Voice

        voice = Voice(
            voice_id=voice_id, engine=self.engine_name, prompt_text=prompt_text, features=dict(features)
        )
        self._cache.put(voice_id, voice)
        return voice

    # ------------------------------------------------------------------ the library (model thread)
    def add(self, engine: Engine, name: str, clip: PromptClip, replace: bool = False) -> VoiceRecord:
        """Store ``clip`` as the voice ``name`` with this engine's features (extracted at most once)."""
        self.store.check_new(name, clip, replace)
        voice, _cached = self.voice_for(engine, ResolvedVoice(VoiceKind.PROMPT, clip.content_id, clip))
        return self.store.add(name, clip, self.engine_name, voice.features, replace)

    def remove(self, name_or_id: str) -> VoiceRecord:
        record = self.store.remove(name_or_id)
        self._cache.pop(record.voice_id)
        return record

    def read_stored(self) -> int:
        """Read the stored voices' features for this engine from disk into the cache (no engine needed;
        run beside the engine load); return how many were read. :meth:`load_stored` does the rest."""
        n_read = 0
        for record in self.store.list()[: self._cache.capacity]:
            if self.engine_name not in record.engines:
                continue
            try:
                features = self.store.features(record, self.engine_name)
            except Exception as exc:  # boundary: load_stored reports an unusable voice
                _LOGGER.debug("stored voice %s not read ahead: %s", record.name, exc)
                continue
            if features is not None:
                self._remember(record.voice_id, record.prompt_text, features)
                n_read += 1
        return n_read

    def load_stored(self, engine: Engine) -> int:
        """Make every stored voice usable now (features for this engine, cache warm); return the count."""
        n_loaded = 0
        for record in self.store.list():
            try:
                if n_loaded < self._cache.capacity:
                    self.voice_for(engine, ResolvedVoice(VoiceKind.STORED, record.voice_id))
                elif self.engine_name not in record.engines:
                    self._stored_voice(engine, record.voice_id)
                n_loaded += 1
            except Exception as exc:  # boundary: one broken stored voice must not stop the server
                _LOGGER.warning("stored voice %s is unusable: %s", record.name, exc)
        return n_loaded

    def clear_cache(self) -> int:
        """Forget cached features (they reload from disk on use); return entries dropped."""
        return self._cache.clear()

    def cache_stats(self) -> dict[str, int]:
        return {"cached": len(self._cache), "hits": self._cache.hits, "misses": self._cache.misses}
