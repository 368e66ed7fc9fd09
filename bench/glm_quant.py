"""glm LLM quantization side by side: float32, bfloat16, int8, int4 (and int8 variants) at the real LLM size.

Random weights in the official LLM layout (1.75 B parameters, written once to
``$TMPDIR/glmtts-bench-llm-<size>/llm`` by ``bench/glm_load.py``'s writer). Per variant, each in a fresh
process (so peak memory and compile caches do not leak between rows):

* ``load``: build the LLM from the safetensors (and quantize; this also writes the quantized cache);
* ``cached``: load it again from the quantized cache (``--llm-quant`` rows only);
* ``warm``: the first decode steps (``torch.compile`` of the int8 linears happens here);
* decode tokens/s at batch 1: teacher-forced single-token steps of the engine's own cached decode loop
  (``SpeechTokenLM.forward_cached`` + LM head) over a fixed random token sequence after a prefill;
* ``LLM bytes``: resident bytes of the LLM's weights (quantized: int data + scales + zero points);
* top-1 agreement and max |logit error| against float32 on the same teacher-forced positions.

Usage::

    flock /tmp/glmtts-cpu.lock python bench/glm_quant.py            # real size, ~15 min on 2 cores
    python bench/glm_quant.py --size small --steps 8                # quick check

Batch 8 needs the batched glm engine (branch ``batch-engine``); until it lands it is reported as pending.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))
sys.path.insert(0, str(REPO_ROOT / "bench"))

#: name -> (dtype, mode, plan overrides or None for the mode's default plan)
VARIANTS: dict[str, tuple[str, str, dict | None]] = {
    "float32": ("float32", "none", None),
    "bfloat16": ("bfloat16", "none", None),
    "int8": ("bfloat16", "int8", None),
    "int8-head-bf16": ("bfloat16", "int8", {"quantize_head": False}),
    "int8-eager": ("bfloat16", "int8", {"compile_linears": False}),
    "int8-dyn-act": ("bfloat16", "int8", {"dynamic_activations": True}),
    "int4": ("bfloat16", "int4", None),
}
DEFAULT_VARIANTS = "float32,bfloat16,int8,int8-head-bf16,int8-dyn-act,int4"
N_PROMPT = 48
SPECIAL = {"pad": 59246, "eoa": 59253, "boa": 59260, "ats": 61498, "ate": 61498 + 32767}


def ensure_llm(size: str) -> Path:
    from glm_load import write_llm

    root = Path(tempfile.gettempdir()) / f"glmtts-bench-llm-{size}"
    marker = root / ".complete"
    if not marker.is_file():
        started = time.perf_counter()
        write_llm(root / "llm", size)
        marker.write_text("ok")
        print(f"wrote the {size} LLM to {root} in {time.perf_counter() - started:.0f} s", flush=True)
    return root / "llm"


def token_sequence(n_steps: int, vocab: int) -> list[int]:
    import torch

    generator = torch.Generator().manual_seed(0)
    text = torch.randint(0, 59246, (N_PROMPT,), generator=generator).tolist()
    speech = torch.randint(SPECIAL["ats"], min(vocab, SPECIAL["ate"] + 1), (n_steps,), generator=generator)
    return text + speech.tolist()


def load_lm(llm_dir: Path, variant: str, cache_dir: Path):
    import dataclasses

    import torch

    from glmtts.engines.glm.checkpoint import resolve_dtype
    from glmtts.engines.glm.llm import SpecialTokenIds, SpeechTokenLM, build_llama_on_meta
    from glmtts.engines.glm.quant_cache import load_quantized_llama
    from glmtts.engines.glm.quantize import plan_for

    dtype_name, mode, overrides = VARIANTS[variant]
    dtype, device, special = resolve_dtype(dtype_name), torch.device("cpu"), SpecialTokenIds(**SPECIAL)
    if mode == "none":
        return SpeechTokenLM.load(llm_dir, special, device, dtype)
    plan = None
    if overrides:
        skeleton = build_llama_on_meta(json.loads((llm_dir / "config.json").read_text()))
        plan = dataclasses.replace(plan_for(mode, skeleton, device), **overrides)
    loaded = load_quantized_llama(llm_dir, device, dtype, mode, cache_dir, plan=plan)
    return SpeechTokenLM(loaded.model, special, loaded.report)


def teacher_forced(lm, tokens: list[int], n_warm: int):
    """Prefill the prompt, then feed ``tokens`` one by one; return (logits [steps, vocab], warm s, step s)."""
    import torch

    logits, times = [], []
    with torch.inference_mode():
        cache = lm._new_cache(len(tokens) + 1)
        hidden = lm.forward_cached(lm.model.model.embed_tokens(torch.tensor([tokens[:N_PROMPT]])), 0, cache)
        logits.append(lm.model.lm_head(hidden).float()[0])
        for position in range(N_PROMPT, len(tokens)):
            started = time.perf_counter()
            embeds = lm.model.model.embed_tokens(torch.tensor([[tokens[position]]]))
            hidden = lm.forward_cached(embeds, position, cache)
            logits.append(lm.model.lm_head(hidden).float()[0])
            times.append(time.perf_counter() - started)
    return torch.stack(logits), sum(times[:n_warm]), times[n_warm:]


def measure(llm_dir: Path, variant: str, steps: int, threads: int, work: Path) -> dict:
    import torch

    from glmtts.engines.glm.quantize import module_bytes

    torch.set_num_threads(threads)
    cache_dir = work / "cache"
    started = time.perf_counter()
    lm = load_lm(llm_dir, variant, cache_dir)
    t_load = time.perf_counter() - started
    n_bytes = module_bytes(lm.model)
    n_warm = 3
    tokens = token_sequence(steps + n_warm, lm.model.config.vocab_size)
    logits, t_warm, step_s = teacher_forced(lm, tokens, n_warm)
    row = {"variant": variant, "t_load": t_load, "t_warm": t_warm, "tok_s": len(step_s) / sum(step_s),
           "bytes": n_bytes}  # fmt: skip
    reference = work / "float32-logits.pt"
    if variant == "float32":
        torch.save(logits, reference)
    elif reference.is_file():
        ref = torch.load(reference, weights_only=True)
        n = min(len(ref), len(logits))
        row["top1"] = float((ref[:n].argmax(-1) == logits[:n].argmax(-1)).float().mean())
        row["max_err"] = float((ref[:n] - logits[:n]).abs().max())
        row["ref_scale"] = float(ref.abs().max())
    if VARIANTS[variant][1] != "none":
        del lm
        gc.collect()
        started = time.perf_counter()
        cached = load_lm(llm_dir, variant, cache_dir)
        row["t_cached"] = time.perf_counter() - started
        row["cache_source"] = cached.quantization.source if cached.quantization else None
    return row


def run_variant(args: argparse.Namespace, variant: str, work: Path) -> dict:
    command = [sys.executable, __file__, "--size", args.size, "--steps", str(args.steps), "--threads",
               str(args.threads), "--work", str(work), "--measure", variant]  # fmt: skip
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ)
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(rows: list[dict]) -> None:
    base = next((row for row in rows if row["variant"] == "float32"), None)
    header = (
        "variant",
        "tok/s",
        "x fp32",
        "LLM bytes",
        "% fp32",
        "load",
        "cached",
        "warm",
        "top-1",
        "max err",
    )
    print("{:<15} {:>7} {:>7} {:>13} {:>7} {:>7} {:>7} {:>7} {:>6} {:>8}".format(*header))
    for row in rows:
        speed = row["tok_s"] / base["tok_s"] if base else float("nan")
        share = 100 * row["bytes"] / base["bytes"] if base else float("nan")
        cached = f"{row['t_cached']:.1f}s" if "t_cached" in row else "-"
        top1 = f"{100 * row['top1']:.1f}%" if "top1" in row else "-"
        err = f"{row['max_err']:.3f}" if "max_err" in row else "-"
        print(
            f"{row['variant']:<15} {row['tok_s']:>7.2f} {speed:>6.2f}x {row['bytes']:>13,} {share:>6.1f}% "
            f"{row['t_load']:>6.1f}s {cached:>7} {row['t_warm']:>6.1f}s {top1:>6} {err:>8}"
        )
    if base is not None and "ref_scale" in rows[-1]:
        print(f"float32 logits: max |logit| {rows[-1]['ref_scale']:.3f}")
    print("batch 8: pending (needs the batched glm engine, branch batch-engine)")
    print("targets: int8 >= 1.5x float32 tok/s at batch 1 and <= 30 % of its bytes; int4 reported")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=("real", "small"), default="real")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help=f"comma list of {', '.join(VARIANTS)}")
    parser.add_argument("--steps", type=int, default=24, help="timed teacher-forced decode steps")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: one variant in this process
    args = parser.parse_args()
    llm_dir = ensure_llm(args.size)
    if args.measure:
        print(json.dumps(measure(llm_dir, args.measure, args.steps, args.threads, args.work)))
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="glmtts-quant-bench-") as work:
        for variant in ["float32", *[v for v in args.variants.split(",") if v != "float32"]]:
            rows.append(run_variant(args, variant, Path(work)))
            print(f"{variant}: {json.dumps(rows[-1])}", flush=True)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
