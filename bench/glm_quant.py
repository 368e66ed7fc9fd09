"""glm LLM quantization side by side: float32, bfloat16, int8, int4 (and int8 variants) at the real LLM size.

Random weights in the official LLM layout (1.75 B parameters, written once to
``$TMPDIR/glmtts-bench-llm-<size>/llm`` by ``bench/glm_load.py``'s writer). Per variant, each in a fresh
process (so peak memory and compile caches do not leak between rows):

* ``load``: build the LLM from the safetensors (and quantize; this also writes the quantized cache);
* ``cached``: load it again from the quantized cache (``--llm-quant`` rows only);
* ``warm``: the first decode steps (``torch.compile`` of the int8 linears happens here);
* decode tokens/s at batch 1: teacher-forced single-token steps of the engine's own cached decode loop
  (``SpeechTokenLM.forward_cached`` + LM head) over a fixed random token sequence after a prefill;
* decode tokens/s at batch 8: 8 sequences (same length, different random tokens) prefilled one by one,
  then teacher-forced batched steps of the engine's batched path (``BatchDecoder.decode`` over a
  ``PagedKVCache`` + LM head); aggregate rate = 8 × steps / time;
* ``LLM bytes``: resident bytes of the LLM's weights (quantized: int data + scales + zero points);
* top-1 agreement and max |logit error| against float32 on the same teacher-forced positions, at batch 1
  and at batch 8 (against float32 at batch 8).

``--llm-dir`` measures another LLM directory in the official layout (``<ckpt>/llm``, e.g. the released
checkpoint on a GPU machine) instead of the random one; its special token ids must be the released ones.

Usage::

    flock /tmp/glmtts-cpu.lock python bench/glm_quant.py            # real size, ~30 min on 2 cores
    python bench/glm_quant.py --size small --steps 8                # quick check
    python bench/glm_quant.py --llm-dir /path/to/GLM-TTS/llm --device cuda --threads 8
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
N_WARM = 3
BATCH = 8
BLOCK_TOKENS = 16
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


def token_sequence(n_steps: int, vocab: int, seed: int = 0) -> list[int]:
    """``N_PROMPT`` random text ids then ``n_steps`` random speech ids (the same for every variant)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    text = torch.randint(0, 59246, (N_PROMPT,), generator=generator).tolist()
    speech = torch.randint(SPECIAL["ats"], min(vocab, SPECIAL["ate"] + 1), (n_steps,), generator=generator)
    return text + speech.tolist()


def load_lm(llm_dir: Path, variant: str, cache_dir: Path, device_name: str):
    import dataclasses

    import torch

    from glmtts.engines.glm.checkpoint import resolve_dtype
    from glmtts.engines.glm.llm import SpecialTokenIds, SpeechTokenLM, build_llama_on_meta
    from glmtts.engines.glm.quant_cache import load_quantized_llama
    from glmtts.engines.glm.quantize import plan_for

    dtype_name, mode, overrides = VARIANTS[variant]
    dtype, device, special = resolve_dtype(dtype_name), torch.device(device_name), SpecialTokenIds(**SPECIAL)
    if mode == "none":
        return SpeechTokenLM.load(llm_dir, special, device, dtype)
    plan = None
    if overrides:
        skeleton = build_llama_on_meta(json.loads((llm_dir / "config.json").read_text()))
        plan = dataclasses.replace(plan_for(mode, skeleton, device), **overrides)
    loaded = load_quantized_llama(llm_dir, device, dtype, mode, cache_dir, plan=plan)
    return SpeechTokenLM(loaded.model, special, loaded.report)


def _clock(device) -> float:
    """``perf_counter`` after the device's queued work is done (CUDA runs asynchronously)."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def teacher_forced(lm, tokens: list[int]):
    """Prefill the prompt, then feed ``tokens`` one by one; return (logits [steps, vocab], warm s, step s)."""
    import torch

    logits, times, device = [], [], lm.device
    with torch.inference_mode():
        cache = lm._new_cache(len(tokens) + 1)
        prompt = torch.tensor([tokens[:N_PROMPT]], device=device)
        hidden = lm.forward_cached(lm.model.model.embed_tokens(prompt), 0, cache)
        logits.append(lm.model.lm_head(hidden).float()[0].cpu())
        for position in range(N_PROMPT, len(tokens)):
            started = _clock(device)
            embeds = lm.model.model.embed_tokens(torch.tensor([[tokens[position]]], device=device))
            hidden = lm.forward_cached(embeds, position, cache)
            step_logits = lm.model.lm_head(hidden).float()
            times.append(_clock(device) - started)
            logits.append(step_logits[0].cpu())
    return torch.stack(logits), sum(times[:N_WARM]), times[N_WARM:]


def teacher_forced_batch(lm, rows: list[list[int]]):
    """Each row's prompt prefilled through :class:`BatchDecoder`, then batched teacher-forced decode steps
    (all rows at the same position); return (logits [steps, rows, vocab], warm s, step s)."""
    import torch

    from glmtts.engines.glm.batch_decode import BatchDecoder
    from glmtts.engines.glm.kv_cache import PagedKVCache

    n_positions = len(rows[0])
    n_blocks = -(-n_positions // BLOCK_TOKENS)
    cache = PagedKVCache(len(lm.model.model.layers), lm.n_kv_heads, lm.head_dim,
                         len(rows) * n_blocks * BLOCK_TOKENS, BLOCK_TOKENS, lm.device, lm.dtype)  # fmt: skip
    decoder = BatchDecoder(lm, cache, max_rows=len(rows))
    tables = [cache.allocate(n_positions) for _ in rows]
    logits, times, device = [], [], lm.device
    with torch.inference_mode():
        hidden = torch.stack(
            [decoder.prefill(t, row[:N_PROMPT], 0) for t, row in zip(tables, rows, strict=True)]
        )
        logits.append(lm.model.lm_head(hidden).float().cpu())
        for position in range(N_PROMPT, n_positions):
            started = _clock(device)
            hidden = decoder.decode(tables, [row[position] for row in rows], [position] * len(rows))
            step_logits = lm.model.lm_head(hidden).float()
            times.append(_clock(device) - started)
            logits.append(step_logits.cpu())
    return torch.stack(logits), sum(times[:N_WARM]), times[N_WARM:]


def agreement(variant: str, logits, reference: Path) -> dict:
    """Top-1 agreement and max |logit error| against the float32 logits saved at ``reference``."""
    import torch

    if variant == "float32":
        torch.save(logits, reference)
        return {}
    if not reference.is_file():
        return {}
    ref = torch.load(reference, weights_only=True)
    n = min(len(ref), len(logits))
    return {
        "top1": float((ref[:n].argmax(-1) == logits[:n].argmax(-1)).float().mean()),
        "max_err": float((ref[:n] - logits[:n]).abs().max()),
        "ref_scale": float(ref.abs().max()),
    }


def measure(args: argparse.Namespace, llm_dir: Path, variant: str) -> dict:
    import torch

    from glmtts.engines.glm.quantize import module_bytes

    torch.set_num_threads(args.threads)
    work: Path = args.work
    cache_dir = work / "cache" / variant
    started = time.perf_counter()
    lm = load_lm(llm_dir, variant, cache_dir, args.device)
    t_load = time.perf_counter() - started
    row = {"variant": variant, "t_load": t_load, "bytes": module_bytes(lm.model)}
    vocab = lm.model.config.vocab_size
    logits, row["t_warm"], step_s = teacher_forced(lm, token_sequence(args.steps + N_WARM, vocab))
    row["tok_s"] = len(step_s) / sum(step_s)
    row.update(agreement(variant, logits, work / "float32-logits.pt"))
    if args.batch_steps > 0:
        rows = [token_sequence(args.batch_steps + N_WARM, vocab, seed) for seed in range(1, BATCH + 1)]
        logits, row["t_warm8"], step_s = teacher_forced_batch(lm, rows)
        row["tok_s8"] = BATCH * len(step_s) / sum(step_s)
        found = agreement(variant, logits, work / "float32-logits-b8.pt")
        row.update({f"{key}8": value for key, value in found.items()})
    if VARIANTS[variant][1] != "none":
        del lm
        gc.collect()
        started = time.perf_counter()
        cached = load_lm(llm_dir, variant, cache_dir, args.device)
        row["t_cached"] = time.perf_counter() - started
        row["cache_source"] = cached.quantization.source if cached.quantization else None
    return row


def run_variant(args: argparse.Namespace, variant: str, work: Path) -> dict:
    command = [sys.executable, __file__, "--size", args.size, "--steps", str(args.steps), "--batch-steps",
               str(args.batch_steps), "--threads", str(args.threads), "--device", args.device, "--work",
               str(work), "--measure", variant]  # fmt: skip
    if args.llm_dir is not None:
        command += ["--llm-dir", str(args.llm_dir)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt(row: dict, key: str, scale: float = 1.0, spec: str = ".3f", unit: str = "") -> str:
    return f"{scale * row[key]:{spec}}{unit}" if key in row else "-"


def print_table(rows: list[dict]) -> None:
    """The side-by-side table (markdown, so it pastes into bench/README.md)."""
    base = next((row for row in rows if row["variant"] == "float32"), {})
    header = ["variant", "tok/s b1", "× fp32", "tok/s b8", "× fp32", "LLM bytes", "% fp32", "load",
              "cached", "warm b1", "top-1 b1", "max err b1", "top-1 b8", "max err b8"]  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        cells = [
            row["variant"],
            _fmt(row, "tok_s", spec=".2f"),
            f"{row['tok_s'] / base['tok_s']:.2f}×" if base else "-",
            _fmt(row, "tok_s8", spec=".2f"),
            f"{row['tok_s8'] / base['tok_s8']:.2f}×" if "tok_s8" in row and "tok_s8" in base else "-",
            f"{row['bytes']:,}",
            f"{100 * row['bytes'] / base['bytes']:.1f} %" if base else "-",
            _fmt(row, "t_load", spec=".1f", unit=" s"),
            _fmt(row, "t_cached", spec=".1f", unit=" s"),
            _fmt(row, "t_warm", spec=".1f", unit=" s"),
            _fmt(row, "top1", 100, ".1f", " %"),
            _fmt(row, "max_err"),
            _fmt(row, "top18", 100, ".1f", " %"),
            _fmt(row, "max_err8"),
        ]
        print("| " + " | ".join(cells) + " |")
    scale = next((row["ref_scale"] for row in rows if "ref_scale" in row), None)
    if scale is not None:
        print(f"float32 logits: max |logit| {scale:.3f}")
    sources = {row["variant"]: row["cache_source"] for row in rows if "cache_source" in row}
    print(f"second load from: {sources}")
    print("targets: int8 >= 1.5x float32 tok/s at batch 1 and <= 30 % of its bytes; int4 reported")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=("real", "small"), default="real")
    parser.add_argument("--llm-dir", type=Path, help="measure this LLM directory instead of random weights")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help=f"comma list of {', '.join(VARIANTS)}")
    parser.add_argument("--steps", type=int, default=24, help="timed teacher-forced decode steps, batch 1")
    parser.add_argument("--batch-steps", type=int, default=12, help="timed batched steps, batch 8; 0 skips")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: one variant in this process
    args = parser.parse_args()
    llm_dir = args.llm_dir if args.llm_dir is not None else ensure_llm(args.size)
    if args.measure:
        print(json.dumps(measure(args, llm_dir, args.measure)))
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
