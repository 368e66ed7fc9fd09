"""The voice subsystem: one resolution rule, one cache (memory + disk tier), persisted features, safe names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from glmtts.engines.base import Voice
from glmtts.errors import ConflictError, InvalidAudioError, InvalidOptionError, UnknownVoiceError
from glmtts.voices import (
    FeatureCache,
    PromptClip,
    PromptLimits,
    VoiceKind,
    VoiceLibrary,
    VoiceSpec,
    VoiceStore,
    validate_voice_name,
)
from tests.support.harness import tone

LIMITS = PromptLimits()
BUILTINS = ("fake_f", "fake_m")


class _Engine:
    """What the library needs of an engine: prepare_voice (counted) and builtin_voice."""

    name = "fake"

    def __init__(self) -> None:
        self.n_calls = 0

    def prepare_voice(self, samples: np.ndarray, sample_rate: int, prompt_text: str | None = None) -> Voice:
        self.n_calls += 1
        features = {
            "mean": np.array([samples.mean()], dtype=np.float64),
            "style": np.arange(8, dtype=np.float32),
        }
        return Voice(voice_id="x", engine="fake", prompt_text=prompt_text, features=features)

    def builtin_voice(self, name: str | None = None) -> Voice:
        return Voice(voice_id=name or "fake_f", engine="fake", builtin=True)


def _clip(f0_hz: float = 150.0, text: str | None = None) -> PromptClip:
    return PromptClip.of(tone(2.0, f0_hz=f0_hz), 24000, text, LIMITS)


def _library(root: Path, engine: str = "fake", cache_size: int = 64, disk: bool = False) -> VoiceLibrary:
    features = FeatureCache(root / "features") if disk else None
    return VoiceLibrary(VoiceStore(root / "voices"), engine, cache_size, features)


def test_resolution_rules_are_the_same_for_every_front_end(tmp_path: Path) -> None:
    library = _library(tmp_path)
    library.add(_Engine(), "narrator", _clip())
    resolve = library.resolve
    assert resolve(VoiceSpec(), BUILTINS).key is None
    assert resolve(VoiceSpec(name="default"), BUILTINS).key is None
    assert resolve(VoiceSpec(name="fake_m"), BUILTINS).key == "fake_m"
    assert resolve(VoiceSpec(name="alloy"), BUILTINS).key == "fake_f"
    assert resolve(VoiceSpec(name="Ash"), BUILTINS).key == "fake_m"
    stored = resolve(VoiceSpec(name="narrator"), BUILTINS)
    assert stored.kind is VoiceKind.STORED and resolve(VoiceSpec(name=stored.key), BUILTINS) == stored
    clip = _clip(180.0)
    assert resolve(VoiceSpec(name="fake_m", clip=clip), BUILTINS).kind is VoiceKind.PROMPT
    with pytest.raises(UnknownVoiceError, match="unknown voice 'ghost'"):
        resolve(VoiceSpec(name="ghost"), BUILTINS)


def test_clip_is_validated_and_hashed_once(tmp_path: Path) -> None:
    clip = _clip(text=" hello ")
    assert len(clip.content_id) == 32 and clip.prompt_text == "hello"
    assert _clip(text="hello").content_id == clip.content_id != _clip(text="other").content_id
    with pytest.raises(InvalidAudioError, match="at least"):
        PromptClip.of(tone(0.3), 24000, None, LIMITS)
    with pytest.raises(InvalidAudioError, match="at most 5 s"):
        PromptClip.of(tone(6.0), 24000, None, PromptLimits(max_s=5.0))
    stereo = np.stack([tone(2.0), tone(2.0, f0_hz=300.0)], axis=1)
    kept = PromptClip.of(stereo, 24000, None, LIMITS)
    assert kept.samples.shape == stereo.shape  # channels are kept as decoded


def test_add_persists_features_and_reloads_in_a_new_library(tmp_path: Path) -> None:
    engine = _Engine()
    record = _library(tmp_path).add(engine, "alice", _clip(text="hello there"))
    assert record.engines == ("fake",) and record.duration_s == pytest.approx(2.0)
    folder = tmp_path / "voices" / record.voice_id
    assert json.loads((folder / "meta.json").read_text())["name"] == "alice"
    with np.load(folder / "fake.npz", allow_pickle=False) as archive:
        assert sorted(archive.files) == ["mean", "style"]
    reopened = _library(tmp_path)
    resolved = reopened.resolve(VoiceSpec(name="alice"), BUILTINS)
    voice, cached = reopened.voice_for(engine, resolved)
    assert (voice.voice_id, voice.prompt_text, cached, engine.n_calls) == (
        record.voice_id,
        "hello there",
        False,
        1,
    )
    again, cached = reopened.voice_for(engine, resolved)
    assert again is voice and cached  # the one LRU


def test_same_clip_is_deduplicated_and_names_conflict(tmp_path: Path) -> None:
    library, engine = _library(tmp_path), _Engine()
    first = library.add(engine, "alice", _clip())
    assert library.add(engine, "alice", _clip()).voice_id == first.voice_id
    with pytest.raises(ConflictError):
        library.add(engine, "alice", _clip(200.0))
    with pytest.raises(ConflictError):
        library.add(engine, "bob", _clip())
    replaced = library.add(engine, "alice", _clip(200.0), replace=True)
    assert replaced.voice_id != first.voice_id and len(library.store.list()) == 1


def test_prompt_cache_in_memory_then_on_disk(tmp_path: Path) -> None:
    engine = _Engine()
    library = _library(tmp_path, cache_size=2, disk=True)
    clip = _clip()
    resolved = library.resolve(VoiceSpec(clip=clip), BUILTINS)
    assert library.voice_for(engine, resolved)[1] is False
    assert library.voice_for(engine, resolved)[1] is True and engine.n_calls == 1
    assert library.clear_cache() == 1
    restarted = _library(tmp_path, cache_size=2, disk=True)  # a new process: the disk tier answers
    voice, cached = restarted.voice_for(engine, resolved)
    assert cached and engine.n_calls == 1 and voice.voice_id == clip.content_id
    memory_only = _library(tmp_path / "other", cache_size=2)
    memory_only.voice_for(engine, resolved)
    assert engine.n_calls == 2


def test_features_for_another_engine_are_prepared_on_load(tmp_path: Path) -> None:
    _library(tmp_path, engine="other").add(_Engine(), "alice", _clip(text="hi"))
    library, engine = _library(tmp_path), _Engine()
    assert library.load_stored(engine) == 1 and engine.n_calls == 1
    assert library.store.record("alice").engines == ("fake", "other")


@pytest.mark.parametrize(
    "name", ["", "../etc/passwd", "a/b", "..", "x" * 65, ".hidden", "a b", "名字", "a\\b", "a..b"]
)
def test_unsafe_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidOptionError):
        validate_voice_name(name)
    assert VoiceStore(tmp_path).find(name) is None
