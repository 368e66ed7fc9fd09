"""Continuous batching of the glm LLM against the serial decoder, on the same random weights, side by side.

For each size (``real`` 1.75 B and ``medium``, random weights built in memory like ``bench/glm_decode.py``)
and dtype (float32, bfloat16), one run measures:

* **throughput**: aggregate speech tokens/s of :class:`StepScheduler` at concurrency 1, 2, 4, 8, 16 (all
  requests arrive together; decode steps only, prefill timed apart) against the serial decoder
  (:meth:`SpeechTokenLM.generate`, one request after another: its rate does not depend on concurrency);
* **streamed latency** (medium only): TTFA and full latency p50/p95 per concurrency through the engine's
  streamed path (:meth:`SegmentSynthesizer.stream_steps`, round-robin driven as the model worker does),
  with the tiny checkpoint's flow and HiFT behind the medium LLM (so the figures are the LLM's share);
* **KV cache**: bytes reserved at the peak of each concurrency, and the largest concurrency whose KV
  reservation fits ``--kv-budget-gib`` for a typical request (150 prompt + 30 text tokens, max 20 x text);
* **identity** (medium): each request's ids at concurrency 8 against the same request decoded serially,
  greedy and RAS.

Usage::

    flock /tmp/glmtts-cpu.lock python bench/glm_batch.py                  # everything (~15 min, 2 cores)
    python bench/glm_batch.py --sizes medium --dtypes float32 --real-tokens 6
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))
sys.path.insert(0, str(REPO_ROOT))

from glm_decode import SPECIAL, random_model  # noqa: E402
from glmtts.engines.base import SamplingOptions, SynthesisOptions  # noqa: E402
from glmtts.engines.batching import BatchLimits, StepPending  # noqa: E402
from glmtts.engines.glm.llm import LengthLimits, SpecialTokenIds, SpeechTokenLM  # noqa: E402
from glmtts.engines.glm.sampling import build_sampler  # noqa: E402
from glmtts.engines.glm.scheduler import StepScheduler  # noqa: E402
from glmtts.engines.glm.synthesis import SegmentSynthesizer, SynthesisSettings  # noqa: E402

CONCURRENCY = (1, 2, 4, 8, 16)
#: The bench's audio range is the last 1024 ids (the tiny flow's vocabulary), boosted so the random LM
#: draws audio ids: the streamed path then has blocks to render.
BENCH_SPECIAL = SpecialTokenIds(
    pad=SPECIAL.pad, eoa=SPECIAL.eoa, boa=SPECIAL.boa, ats=98304 - 1024, ate=98303
)


def build_lm(size: str, dtype: torch.dtype) -> SpeechTokenLM:
    model = random_model(size, dtype)
    with torch.no_grad():
        model.lm_head.weight[BENCH_SPECIAL.ats :] *= 40.0
    return SpeechTokenLM(model, BENCH_SPECIAL)


def requests(n: int, n_prompt: int, n_text: int) -> list[tuple[list[int], list[int], list[int]]]:
    generator = torch.Generator().manual_seed(n)
    out = []
    for _ in range(n):
        text = torch.randint(0, 59000, (n_text,), generator=generator).tolist()
        speech = torch.randint(0, 1024, (max(1, n_prompt - n_text - 2),), generator=generator).tolist()
        out.append(([1], text, speech))
    return out


def serial_rate(lm: SpeechTokenLM, case, n_tokens: int) -> float:
    """Decode tokens/s of the serial loop (the first id, drawn after the prefill, excluded)."""
    limits = LengthLimits(min_ratio=n_tokens / len(case[1]), max_ratio=n_tokens / len(case[1]))
    started, count = time.perf_counter(), 0
    generator = torch.Generator().manual_seed(0)
    for count, _ in enumerate(lm.generate(*case, build_sampler(SamplingOptions()), generator, limits), 1):
        if count == 1:
            started = time.perf_counter()
    return (count - 1) / (time.perf_counter() - started)


def batched_run(lm: SpeechTokenLM, cases, n_tokens: int, strategy: str = "ras") -> dict:
    """Decode every case together; decode tokens/s, prefill seconds, peak KV bytes and the drawn ids."""
    limits = LengthLimits(min_ratio=n_tokens / len(cases[0][1]), max_ratio=n_tokens / len(cases[0][1]))
    scheduler = StepScheduler(lm, BatchLimits(max_sequences=16, token_budget=4096, kv_capacity_tokens=16_384))
    sampler = build_sampler(SamplingOptions(strategy=strategy))
    sequences = [
        scheduler.submit(*case, sampler, torch.Generator().manual_seed(seed), limits)
        for seed, case in enumerate(cases)
    ]
    decode_s = prefill_s = 0.0
    peak = decode_tokens = 0
    while scheduler.n_in_flight:
        prefilling = any(seq.prefilling for seq in scheduler.waiting) or any(
            s.prefilling for s in scheduler.running
        )
        before = scheduler.stats.n_tokens
        started = time.perf_counter()
        scheduler.run_step()
        elapsed = time.perf_counter() - started
        peak = max(peak, scheduler.cache.used_tokens)
        if prefilling:
            prefill_s += elapsed
        else:
            decode_s += elapsed
            decode_tokens += scheduler.stats.n_tokens - before
    per_position = scheduler.cache.nbytes / ((scheduler.cache.n_blocks + 1) * scheduler.cache.block_tokens)
    return {
        "rate": decode_tokens / max(decode_s, 1e-9),
        "prefill_s": prefill_s,
        "kv_peak_bytes": peak * per_position,
        "per_position": per_position,
        "ids": [list(seq.history) for seq in sequences],
    }


def identity(lm: SpeechTokenLM, n: int, n_tokens: int) -> dict[str, tuple[int, int]]:
    """(equal, total) ids of each request at concurrency ``n`` against the serial decoder, per strategy."""
    cases = requests(n, 40, 8)
    out = {}
    for strategy in ("greedy", "ras"):
        batched = batched_run(lm, cases, n_tokens, strategy)["ids"]
        limits = LengthLimits(min_ratio=n_tokens / 8, max_ratio=n_tokens / 8)
        equal = total = 0
        for seed, (case, ids) in enumerate(zip(cases, batched, strict=True)):
            generator = torch.Generator().manual_seed(seed)
            sampler = build_sampler(SamplingOptions(strategy=strategy))
            serial = [t + lm.special.ats for t in lm.generate(*case, sampler, generator, limits)]
            equal += sum(a == b for a, b in zip(serial, ids, strict=False))
            total += max(len(serial), len(ids))
        out[strategy] = (equal, total)
    return out


def streamed_latency(lm: SpeechTokenLM, n: int, n_tokens: int, tiny) -> dict[str, float]:
    """TTFA and full latency (s) of ``n`` streamed requests arriving together, driven round-robin."""
    token2wav, voice = tiny
    limits = LengthLimits(min_ratio=n_tokens / 8, max_ratio=n_tokens / 8)
    scheduler = StepScheduler(lm, BatchLimits(max_sequences=16, token_budget=4096, kv_capacity_tokens=16_384))
    synthesizer = SegmentSynthesizer(lm, token2wav, SynthesisSettings(limits=limits), scheduler)
    started = time.perf_counter()
    live = {
        k: synthesizer.stream_steps([case[1]], voice, SynthesisOptions(seed=k, stream=True))
        for k, case in enumerate(requests(n, 40, 8))
    }
    first: dict[int, float] = {}
    done: dict[int, float] = {}
    while live:
        for k in list(live):
            for item in live[k]:
                if isinstance(item, StepPending):
                    break
                if item.samples.size and k not in first:
                    first[k] = time.perf_counter() - started
            else:
                done[k] = time.perf_counter() - started
                del live[k]
        if live:
            scheduler.run_step()
    return {
        "ttfa_p50": _pct(list(first.values()), 50),
        "ttfa_p95": _pct(list(first.values()), 95),
        "full_p50": _pct(list(done.values()), 50),
        "full_p95": _pct(list(done.values()), 95),
    }


def _pct(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def tiny_vocoder():
    """The tiny checkpoint's flow + HiFT and a voice prepared by the tiny engine (ids fit the bench LM)."""
    from tests.support.glm.make_tiny import make_tiny_checkpoint

    from glmtts.engines.base import EngineConfig
    from glmtts.engines.glm.voice import VoiceFeatures, synthetic_prompt
    from glmtts.engines.registry import create_engine

    ckpt = make_tiny_checkpoint(Path(tempfile.mkdtemp()) / "ckpt")
    engine = create_engine(EngineConfig(name="glm", ckpt_dir=ckpt, n_threads=torch.get_num_threads()))
    engine.load()
    voice = engine.prepare_voice(synthetic_prompt(24000), 24000, "你好。")
    return engine._pipeline.synthesizer.token2wav, VoiceFeatures.from_arrays(voice.features, 24000)


def typical_fit(per_position: float, budget_gib: float) -> int:
    positions = 150 + 30 + 20 * 30
    return int(budget_gib * 2**30 // (positions * per_position))


def bench_size(size: str, dtype_name: str, args: argparse.Namespace, tiny) -> None:
    dtype = getattr(torch, dtype_name)
    built = time.perf_counter()
    lm = build_lm(size, dtype)
    n_params = sum(p.numel() for p in lm.model.parameters()) / 1e6
    print(f"\n== {size} ({n_params:.0f} M params) {dtype_name}, built in {time.perf_counter() - built:.0f} s")
    n_tokens = args.real_tokens if size == "real" else args.medium_tokens
    n_prompt = 24 if size == "real" else 60
    serial = serial_rate(lm, requests(1, n_prompt, 8)[0], n_tokens)
    print(f"serial decoder: {serial:.2f} tokens/s ({n_tokens} tokens, prompt {n_prompt})")
    print(f"{'conc':>4} {'tok/s':>8} {'x serial':>8} {'prefill s':>9} {'KV MiB':>8}", end="")
    print(f" {'TTFA p50':>8} {'TTFA p95':>8} {'full p50':>8} {'full p95':>8}" if size != "real" else "")
    per_position = 0.0
    for n in CONCURRENCY:
        run = batched_run(lm, requests(n, n_prompt, 8), n_tokens)
        per_position = run["per_position"]
        line = f"{n:>4} {run['rate']:>8.2f} {run['rate'] / serial:>7.2f}x {run['prefill_s']:>9.1f}"
        line += f" {run['kv_peak_bytes'] / 2**20:>8.1f}"
        if size != "real":
            lat = streamed_latency(lm, n, args.stream_tokens, tiny)
            line += "".join(f" {lat[key]:>8.2f}" for key in ("ttfa_p50", "ttfa_p95", "full_p50", "full_p95"))
        print(line, flush=True)
    fit = typical_fit(per_position, args.kv_budget_gib)
    print(
        f"KV: {per_position / 1024:.1f} KiB/position; {args.kv_budget_gib} GiB holds {fit} typical requests"
    )
    if size != "real":
        for strategy, (equal, total) in identity(lm, 8, 12).items():
            print(f"identity at concurrency 8, {strategy}: {equal}/{total} ids equal to serial")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="medium,real")
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--real-tokens", type=int, default=8, help="decode steps per request, real size")
    parser.add_argument("--medium-tokens", type=int, default=24, help="decode steps per request, medium")
    parser.add_argument("--stream-tokens", type=int, default=40, help="tokens per streamed request, medium")
    parser.add_argument("--kv-budget-gib", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sizes = args.sizes.split(",")
    tiny = tiny_vocoder() if any(size != "real" for size in sizes) else None
    for size in sizes:
        for dtype_name in args.dtypes.split(","):
            bench_size(size, dtype_name, args, tiny)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
