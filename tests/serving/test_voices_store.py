"""The voices library: content-hashed, persisted with numpy (no pickle), LRU-cached, safe names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from glmtts.engines.base import Voice
from glmtts.errors import ConflictError, InvalidOptionError, UnknownVoiceError
from glmtts.voices import VoiceStore, validate_voice_name
from tests.serving.serving_support import tone


class _Prepare:
    """Counts calls; features depend on the clip so reloading can be checked."""

    def __init__(self) -> None:
        self.n_calls = 0

    def __call__(self, samples: np.ndarray, sample_rate: int, prompt_text: str | None) -> Voice:
        self.n_calls += 1
        features = {
            "mean": np.array([samples.mean()], dtype=np.float64),
            "style": np.arange(8, dtype=np.float32),
        }
        return Voice(voice_id="x", engine="fake", prompt_text=prompt_text, features=features)


def test_add_persists_features_and_reloads_in_a_new_store(tmp_path: Path) -> None:
    prepare = _Prepare()
    store = VoiceStore(tmp_path, "fake")
    clip = tone(2.0)
    record = store.add("alice", clip, 24000, "hello there", prepare)
    assert (
        len(record.voice_id) == 32 and record.engines == ("fake",) and record.duration_s == pytest.approx(2.0)
    )
    folder = tmp_path / record.voice_id
    assert json.loads((folder / "meta.json").read_text())["name"] == "alice"
    with np.load(folder / "fake.npz", allow_pickle=False) as archive:
        assert sorted(archive.files) == ["mean", "style"]
    reopened = VoiceStore(tmp_path, "fake")
    voice = reopened.get("alice")
    assert voice.voice_id == record.voice_id and voice.prompt_text == "hello there"
    np.testing.assert_array_equal(voice.features["style"], np.arange(8, dtype=np.float32))
    assert reopened.get(record.voice_id) is voice  # LRU hit, by id too
    assert [r.name for r in reopened.list()] == ["alice"]


def test_same_clip_is_deduplicated_and_names_conflict(tmp_path: Path) -> None:
    prepare = _Prepare()
    store = VoiceStore(tmp_path, "fake")
    first = store.add("alice", tone(2.0), 24000, None, prepare)
    again = store.add("alice", tone(2.0), 24000, None, prepare)
    assert again.voice_id == first.voice_id
    with pytest.raises(ConflictError):
        store.add("alice", tone(2.0, f0_hz=200.0), 24000, None, prepare)
    with pytest.raises(ConflictError):
        store.add("bob", tone(2.0), 24000, None, prepare)
    replaced = store.add("alice", tone(2.0, f0_hz=200.0), 24000, None, prepare, replace=True)
    assert replaced.voice_id != first.voice_id and len(store.list()) == 1


def test_remove_deletes_files_and_cache(tmp_path: Path) -> None:
    store = VoiceStore(tmp_path, "fake")
    record = store.add("alice", tone(2.0), 24000, None, _Prepare())
    store.remove("alice")
    assert not (tmp_path / record.voice_id).exists()
    with pytest.raises(UnknownVoiceError):
        store.get("alice")
    with pytest.raises(UnknownVoiceError):
        store.remove("alice")


def test_prompt_cache_skips_re_extraction(tmp_path: Path) -> None:
    prepare = _Prepare()
    store = VoiceStore(tmp_path, "fake", cache_size=2)
    clip = tone(2.0)
    voice, cached = store.prompt_voice(clip, 24000, "text", prepare)
    again, cached_again = store.prompt_voice(clip, 24000, "text", prepare)
    assert (cached, cached_again, prepare.n_calls) == (False, True, 1)
    assert again is voice
    store.prompt_voice(tone(2.0, f0_hz=90.0), 24000, None, prepare)
    store.prompt_voice(tone(2.0, f0_hz=95.0), 24000, None, prepare)
    store.prompt_voice(clip, 24000, "text", prepare)  # evicted by the LRU: extracted again
    assert prepare.n_calls == 4
    assert store.clear_cache() == 2


def test_features_for_another_engine_are_prepared_on_load(tmp_path: Path) -> None:
    VoiceStore(tmp_path, "other").add("alice", tone(2.0), 24000, "hi", _Prepare())
    store = VoiceStore(tmp_path, "fake")
    with pytest.raises(UnknownVoiceError, match="no features"):
        store.get("alice")
    prepare = _Prepare()
    assert store.load_all(prepare) == 1 and prepare.n_calls == 1
    assert store.record("alice").engines == ("fake", "other")


@pytest.mark.parametrize(
    "name", ["", "../etc/passwd", "a/b", "..", "x" * 65, ".hidden", "a b", "名字", "a\\b", "a..b"]
)
def test_unsafe_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidOptionError):
        validate_voice_name(name)
    store = VoiceStore(tmp_path, "fake")
    with pytest.raises(UnknownVoiceError):
        store.get(name)
