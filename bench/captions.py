"""Caption-timing cost: kokoro synthesis time with ``timestamps`` none vs segment vs word, side by side.

Usage: ``python bench/captions.py [--repeat N] [--threads N]``

One engine is loaded once; each round synthesizes the same bilingual paragraph (numbers, dates, a mixed
segment) at every level in turn, the order rotating each round so machine drift hits all alike. Reported:
the median wall time per level and its ratio to ``none``; the audio is checked to be identical at every
level. Target: segment and word timing cost at most 2 % extra synthesis time. ``word`` is measured only
where the engine can time words (``Capabilities.word_timestamps``).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from glmtts.engines.base import EngineConfig, SynthesisOptions
from glmtts.engines.kokoro.engine import KokoroEngine

TEXT = (
    "第1章：2024年3月15日，我们在北京开了一个会。会议讨论了三个问题，持续了2个小时！"
    "The budget grew by 12.5% to $3.2 million, and the team shipped version 2.0 on time. "
    "最后，大家用Python写了3个脚本，一致同意了方案。See you on May 1st!"
)
TARGET_RATIO = 1.02


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    engine = KokoroEngine(EngineConfig(n_threads=args.threads))
    engine.load()
    engine.warmup()
    voice = engine.builtin_voice()
    levels = ["none", "segment"] + (["word"] if engine.capabilities().word_timestamps else [])
    times: dict[str, list[float]] = {level: [] for level in levels}
    audio: dict[str, np.ndarray] = {}
    for round_index in range(args.repeat):
        for offset in range(len(levels)):
            level = levels[(round_index + offset) % len(levels)]
            started = time.perf_counter()
            chunks = list(engine.stream(TEXT, voice, SynthesisOptions(timestamps=level)))
            times[level].append(time.perf_counter() - started)
            audio[level] = np.concatenate([chunk.samples for chunk in chunks])
    assert all(np.array_equal(audio["none"], samples) for samples in audio.values()), "audio differs"
    seconds = audio["none"].size / engine.sample_rate
    base = statistics.median(times["none"])
    print(f"kokoro, {len(TEXT)} chars, {seconds:.2f} s audio, {args.repeat} rounds, {args.threads} threads")
    for level in levels:
        median = statistics.median(times[level])
        verdict = "" if level == "none" else ("  ok" if median / base <= TARGET_RATIO else "  OVER TARGET")
        print(f"  timestamps={level:<8} median {median:.3f} s  x{median / base:.3f}{verdict}")
    print_span_cost(engine, base)
    if "word" in levels:
        print_word_cost(engine, base)


def print_span_cost(engine: KokoroEngine, synthesis_s: float, repeat: int = 20) -> None:
    """The one extra step of segment timing on its own (source spans in the frontend), which on a busy
    machine is steadier than the difference of two synthesis times."""
    frontend = engine.text_frontend
    assert frontend is not None
    costs = {}
    for spans in (False, True):
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            frontend.analyze(TEXT, spans=spans)
            runs.append(time.perf_counter() - started)
        costs[spans] = statistics.median(runs)
    extra = costs[True] - costs[False]
    print(
        f"  frontend analyze {costs[False] * 1000:.1f} ms, with spans {costs[True] * 1000:.1f} ms: "
        f"+{extra * 1000:.1f} ms = {100 * extra / synthesis_s:.2f} % of synthesis"
    )


def print_word_cost(engine: KokoroEngine, synthesis_s: float, repeat: int = 20) -> None:
    """The extra step of word timing on its own: placing every run's words on its rendered audio from
    the model's durations (the word spans of the phoneme runs are built at every level)."""
    voice = engine.builtin_voice()
    style = voice.features["style"]
    rendered = [
        (run, *engine._render(run.phonemes, style, 1.0))
        for chunk in engine._phonemes_of(TEXT, (), spans=True)
        for run in chunk.pieces
    ]
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for run, audio, durations, trimmed_start in rendered:
            engine._time_words(run, durations, trimmed_start, audio)
        runs.append(time.perf_counter() - started)
    extra = statistics.median(runs)
    print(
        f"  word timing of {len(rendered)} runs {extra * 1000:.1f} ms = {100 * extra / synthesis_s:.2f} % of synthesis"
    )


if __name__ == "__main__":
    main()
