"""Speed and memory of the kokoro engine, printed side by side with the targets.

Measured in a fresh child process (so imports count and the RSS is the engine's own):
* engine load time with a warm cache (model already joined and verified),
* real-time factor (synthesis seconds / audio seconds) of a ~10 s utterance in Chinese and in English,
  default voice and an adapted voice, best of ``--repeats`` runs after a warm-up,
* time to the first streamed chunk of a multi-sentence text,
* peak RSS of the process.

Usage: ``python bench/speed.py [--threads 2] [--repeats 3] [--cache-dir DIR]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ZH_10S = "今天天气很好，我们去公园散步吧。公园里有很多人，有的在跑步，有的在下棋，孩子们在草地上放风筝。"
EN_10S = (
    "The weather is lovely today, so we are going for a walk in the park. "
    "Many people are out running, and the children are flying kites on the grass."
)
TARGETS = {"load_s": 3.0, "rtf": 0.5}


def _measure(threads: int, repeats: int, cache_dir: Path | None) -> dict[str, float]:
    from glmtts.engines.base import EngineConfig, SynthesisOptions
    from glmtts.engines.kokoro.engine import KokoroEngine

    started = time.perf_counter()
    engine = KokoroEngine(EngineConfig(n_threads=threads, cache_dir=cache_dir))
    engine.load()
    results: dict[str, float] = {"load_s": time.perf_counter() - started}
    started = time.perf_counter()
    engine.warmup()
    results["warmup_s"] = time.perf_counter() - started
    options = SynthesisOptions()
    default = engine.builtin_voice()
    prompt = engine.synthesize("我们今天去公园散步吧，天气很好。", engine.builtin_voice("jf_alpha"), options)
    adapted = engine.prepare_voice(prompt, engine.sample_rate)
    for label, voice in (("default", default), ("adapted", adapted)):
        for language, text in (("zh", ZH_10S), ("en", EN_10S)):
            best, audio_s = float("inf"), 0.0
            for _ in range(repeats):
                started = time.perf_counter()
                audio = engine.synthesize(text, voice, options)
                best = min(best, time.perf_counter() - started)
                audio_s = audio.size / engine.sample_rate
            results[f"rtf_{label}_{language}"] = best / audio_s
            results[f"audio_s_{language}"] = audio_s
    started = time.perf_counter()
    next(iter(engine.stream(ZH_10S, default, options)))
    results["first_chunk_s"] = time.perf_counter() - started
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return results


def _report(results: dict[str, float], threads: int) -> None:
    def row(label: str, value: str, target: str) -> None:
        print(f"{label:<36}{value:>14}{target:>14}")

    print(f"kokoro engine, {threads} threads")
    row("metric", "measured", "target")
    row("load (warm cache)", f"{results['load_s']:.2f} s", f"<= {TARGETS['load_s']:.1f} s")
    row("warmup", f"{results['warmup_s']:.2f} s", "-")
    for label in ("default", "adapted"):
        for language in ("zh", "en"):
            key = f"rtf_{label}_{language}"
            audio_s = results[f"audio_s_{language}"]
            row(
                f"RTF {label} voice, {language} ({audio_s:.1f} s)",
                f"{results[key]:.3f}",
                f"<= {TARGETS['rtf']}",
            )
    row("time to first chunk (stream)", f"{results['first_chunk_s']:.2f} s", "-")
    row("peak RSS", f"{results['peak_rss_mb']:.0f} MB", "-")
    worst = max(results[k] for k in results if k.startswith("rtf_default"))
    verdict = "met" if worst <= TARGETS["rtf"] and results["load_s"] <= TARGETS["load_s"] else "MISSED"
    print(f"targets (default voice RTF, load): {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_measure(args.threads, args.repeats, args.cache_dir)))
        return 0
    from glmtts.engines.kokoro.assets import ModelCache

    ModelCache(args.cache_dir).ensure()  # warm the cache before timing a load
    command = [
        sys.executable,
        __file__,
        "--child",
        "--threads",
        str(args.threads),
        "--repeats",
        str(args.repeats),
    ]
    if args.cache_dir is not None:
        command += ["--cache-dir", str(args.cache_dir)]
    child = subprocess.run(command, capture_output=True, text=True, check=True)
    results = json.loads(child.stdout.strip().splitlines()[-1])
    _report({k: float(np.float64(v)) for k, v in results.items()}, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
