"""The Kokoro model with its duration predictor exposed: same audio, frames that add up to it, and the
edited file built at set-up, rebuilt when stale, and built at load when set-up did not."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest

from glmtts.engines.kokoro.assets import ModelCache, load_vocab
from glmtts.engines.kokoro.durations import (
    DURATIONS_OUTPUT,
    SAMPLES_PER_FRAME,
    DurationModelCache,
    check_durations,
    open_session,
)
from glmtts.engines.kokoro.engine import KokoroEngine

SENTENCES = ["ʨi→ntʰjɛ→n ʂɻ↘ tʰjɛ→nʨʰi↘ xə↓n xau↓.", "ðə kwˈɪk bɹˈWn fˈɑks, ʤˈʌmpt ˈOvəɹ ðə lˈAzi dˈɔɡ!"]


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> tuple[DurationModelCache, object]:
    source = ModelCache().ensure()
    cache = DurationModelCache(tmp_path_factory.mktemp("durations"))
    path, built = cache.prepare(source, n_threads=2)
    assert built and path.is_file()
    return cache, source


@pytest.mark.parametrize("speed", [1.0, 1.5, 0.8])
@pytest.mark.parametrize("phonemes", SENTENCES, ids=["zh", "en"])
def test_same_audio_and_frames_times_600_are_the_samples(
    edited, kokoro: KokoroEngine, phonemes, speed
) -> None:
    cache, source = edited
    vocab = load_vocab()
    ids = [vocab[s] for s in phonemes if s in vocab]
    feeds = {
        "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
        "style": kokoro.builtin_voice().features["style"][len(ids) - 1].reshape(1, 256),
        "speed": np.array([speed], dtype=np.float32),
    }
    original, durations_model = open_session(source.path, 2), open_session(cache.model_path, 2)
    n_samples = check_durations(original, durations_model, feeds)  # raises unless bit-identical and exact
    audio, durations = durations_model.run(["audio", DURATIONS_OUTPUT], feeds)
    assert n_samples == audio.size == int(durations.sum()) * SAMPLES_PER_FRAME
    assert durations.size == len(ids) + 2 and durations.min() >= 1  # each token gets at least a frame
    np.testing.assert_array_equal(audio, original.run(["audio"], feeds)[0])


def test_prepare_is_idempotent_and_rebuilds_a_changed_file(edited) -> None:
    cache, source = edited
    assert cache.is_ready(source, full_check=True)
    assert cache.prepare(source) == (cache.model_path, False)
    with cache.model_path.open("ab") as handle:  # damaged after set-up
        handle.write(b"\0")
    assert not cache.is_ready(source)
    assert cache.prepare(source)[1] and cache.is_ready(source, full_check=True)
    other = dataclasses.replace(source, sha256="0" * 64)  # built from another model
    assert not cache.is_ready(other)


def test_an_unprepared_install_builds_it_at_load(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = ModelCache().ensure()
    directory = tmp_path / "kokoro"
    directory.mkdir()
    cache = DurationModelCache(directory)
    with caplog.at_level(logging.WARNING):
        path = cache.ensure(source, n_threads=2)
    assert "not prepared at set-up" in caplog.text and cache.is_ready(source)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert cache.ensure(source) == path
    assert "not prepared" not in caplog.text
