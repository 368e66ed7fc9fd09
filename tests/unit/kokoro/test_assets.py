"""Joining, verifying and caching the model file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from glmtts.engines.kokoro import assets
from glmtts.errors import EngineError
from glmtts.timing import StartupTimer, recording


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    blobs = [bytes([i]) * (1000 + i) for i in range(4)]
    paths = []
    for index, blob in enumerate(blobs):
        path = tmp_path / f"part{index}.bin"
        path.write_bytes(blob)
        paths.append(path)
    joined = b"".join(blobs)
    monkeypatch.setattr(assets, "model_part_files", lambda: paths)
    monkeypatch.setattr(assets, "expected_model_sha256", lambda: hashlib.sha256(joined).hexdigest())
    return joined


def test_join_verify_and_reuse(tmp_path: Path, fake_parts: bytes) -> None:
    cache = assets.ModelCache(tmp_path / "cache")
    model = cache.ensure()
    assert model.path.read_bytes() == fake_parts
    assert cache.is_verified(model.sha256) and cache.is_verified(model.sha256, full_check=True)
    mtime = model.path.stat().st_mtime_ns
    assert cache.ensure().path.stat().st_mtime_ns == mtime  # not rebuilt


def test_prepare_is_idempotent_and_a_prepared_start_only_checks_the_stamp(
    tmp_path: Path, fake_parts: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    cache = assets.ModelCache(tmp_path / "cache")
    model, changed = cache.prepare()
    assert changed and model.path.read_bytes() == fake_parts
    files = {path: path.stat().st_mtime_ns for path in cache.directory.iterdir()}
    assert cache.prepare() == (model, False)  # second set-up: re-hashed, nothing written
    assert {path: path.stat().st_mtime_ns for path in cache.directory.iterdir()} == files
    timer = StartupTimer()
    with recording(timer), caplog.at_level("WARNING"):
        assert cache.ensure() == model
    assert timer.steps() == [] and "not prepared" not in caplog.text


def test_an_unprepared_start_joins_and_says_so(
    tmp_path: Path, fake_parts: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    timer = StartupTimer()
    with recording(timer), caplog.at_level("WARNING"):
        model = assets.ModelCache(tmp_path / "cache").ensure()
    assert model.path.read_bytes() == fake_parts
    assert [(s.name, s.detail) for s in timer.steps()] == [
        ("join + verify model parts", "unprepared install")
    ]
    assert "not prepared at set-up" in caplog.text and "glmtts doctor --prepare" in caplog.text


def test_prepare_repairs_a_stale_stamp_without_joining(tmp_path: Path, fake_parts: bytes) -> None:
    cache = assets.ModelCache(tmp_path / "cache")
    model, _ = cache.prepare()
    cache.stamp_path.write_text("stale")
    mtime = model.path.stat().st_mtime_ns
    assert cache.prepare() == (model, True)
    assert model.path.stat().st_mtime_ns == mtime and cache.is_verified(model.sha256)


def test_corrupted_cache_is_rebuilt(tmp_path: Path, fake_parts: bytes) -> None:
    cache = assets.ModelCache(tmp_path / "cache")
    model = cache.ensure()
    model.path.write_bytes(b"garbage")
    assert not cache.is_verified(model.sha256)
    assert cache.ensure().path.read_bytes() == fake_parts


def test_corrupted_parts_fail_and_leave_nothing(
    tmp_path: Path, fake_parts: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assets, "expected_model_sha256", lambda: "0" * 64)
    cache = assets.ModelCache(tmp_path / "cache")
    with pytest.raises(EngineError, match="sha256 mismatch"):
        cache.ensure()
    assert list(cache.directory.iterdir()) == []


def test_real_packages_ship_vocab_and_five_voices() -> None:
    vocab = assets.load_vocab()
    packs = assets.load_style_packs()
    assert {"ʨ", "ꭧ", "↗", "ɨ", "ʰ"} <= set(vocab)
    assert tuple(packs) == assets.STYLE_PACK_NAMES
    assert all(pack.shape == (510, 256) for pack in packs.values())
