"""State shared by several processes on one workdir (a fleet): pronunciation edits and stored voices."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from glmtts.serving.pronunciations import PronunciationStore
from glmtts.voices import PromptClip, PromptLimits, VoiceStore
from tests.support.harness import tone


def test_a_pronunciation_edit_in_one_store_reaches_another_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "configs" / "G2P_replace_dict.jsonl"
    editor, reader = PronunciationStore(path), PronunciationStore(path)
    assert reader.reload_if_changed() is None  # no file yet, nothing changed
    editor.replace('{"GLM": "G L M"}\n')
    assert reader.reload_if_changed() == (("GLM", "G L M"),)
    assert reader.reload_if_changed() is None  # one stat, no re-read, while unchanged
    assert editor.reload_if_changed() is None  # its own write is not news to the writer
    editor.replace('{"GLM": "glim"}\n{"TTS": "T T S"}\n')
    assert reader.reload_if_changed() == (("GLM", "glim"), ("TTS", "T T S"))
    assert reader.entries() == editor.entries()


def test_an_unparsable_edit_keeps_the_entries_in_use(tmp_path: Path) -> None:
    path = tmp_path / "dict.jsonl"
    store = PronunciationStore(path)
    store.replace('{"GLM": "G L M"}\n')
    path.write_text("not json\n", encoding="utf-8")
    assert store.reload_if_changed() is None
    assert store.entries() == (("GLM", "G L M"),)


def test_a_voice_stored_by_one_process_is_found_by_another(tmp_path: Path) -> None:
    writer, reader = VoiceStore(tmp_path), VoiceStore(tmp_path)
    clip = PromptClip.of(tone(3.0), 24000, "hi", PromptLimits())
    record = writer.add("shared", clip, "fake", {"f0": np.array([150.0])})
    assert reader.find("shared") == record  # unknown here: the folder is read again
    assert reader.by_id(record.voice_id) == record
    assert [r.name for r in reader.list()] == ["shared"]
    writer.remove("shared")
    assert reader.list() == []
