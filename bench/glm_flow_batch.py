"""glm flow (DiT) and HiFT on several streamed blocks: one batched call against one call per block.

Random weights at the released sizes (DiT 768 wide × 18 deep, 12 heads, vocab 100 000; HiFT 512 base
channels), built in memory. The inputs have the shapes :class:`Token2WavStream` gives its first block: a
voice prompt of ``--prompt-seconds`` (25 tokens/s, 50 mel frames/s) plus ``--block-tokens`` +
``--lookahead`` new tokens; the "ragged" case spreads the prompt and block lengths over ±20 % across the
rows, so padding and the DiT's frame mask are exercised. Per batch size B:

* **flow serial**: B :meth:`FlowModel.inference` calls, one per row; **flow batched**: one
  :meth:`FlowModel.inference_batch` call over the B rows (padded at the end, masked);
* **HiFT serial / batched**: the vocoder on ``vocoder_context_frames`` + ``2 × block`` mel frames per row,
  B calls against one call on the B rows stacked (equal lengths: streamed blocks of the same schedule
  index have equal frame counts; the vocoder has no frame mask);
* **max |diff|**: largest difference between a row of the batched output and the same row run alone
  (mel for the flow, waveform for HiFT).

Times are medians of ``--repeats`` timed runs after one warm-up, in ms per call (a serial "call" is all B
rows one after another). Each row's flow noise is drawn once, so serial and batched see the same input.

Usage::

    flock /tmp/glmtts-cpu.lock python bench/glm_flow_batch.py --timesteps 2        # CPU, float32 (~6 min)
    python bench/glm_flow_batch.py --device cuda --dtype bfloat16 --batches 1 2 4 8 16 --timesteps 10
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))

from glmtts.engines.glm.dit import DiT, DiTConfig  # noqa: E402
from glmtts.engines.glm.flow import FlowConfig, FlowModel, FlowRow  # noqa: E402
from glmtts.engines.glm.hift import HiFTConfig, HiFTGenerator, HiFTVocoder  # noqa: E402
from glmtts.engines.glm.hift_source import HiFTNoise  # noqa: E402
from glmtts.engines.glm.token2wav_stream import StreamSchedule  # noqa: E402

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def build_models(device: torch.device, dtype: torch.dtype) -> tuple[FlowModel, HiFTVocoder]:
    """Random-weight flow and HiFT at the released sizes, built like their checkpoint loaders do."""
    torch.manual_seed(2)
    dit = DiT(DiTConfig())
    inv_freq = dit.rotary_embed.inv_freq.float()
    dit = dit.to(device=device, dtype=dtype).eval()
    dit.rotary_embed.inv_freq = inv_freq.to(device)  # rotary frequencies stay float32, as from_state_dict
    hift = HiFTGenerator(HiFTConfig()).to(device=device, dtype=dtype).eval()
    hift.m_source.float()
    return FlowModel(dit, FlowConfig(), device, dtype), HiFTVocoder(hift, device, dtype)


def flow_rows(flow: FlowModel, n_rows: int, args: argparse.Namespace, ragged: bool) -> list[FlowRow]:
    """``n_rows`` first-block inputs; ragged rows scale prompt and block lengths over [0.8, 1.2]."""
    gen = torch.Generator().manual_seed(7 + n_rows)
    rows = []
    for index in range(n_rows):
        scale = 0.8 + 0.4 * index / (n_rows - 1) if ragged and n_rows > 1 else 1.0
        n_prompt = round(25 * args.prompt_seconds * scale)
        n_block = round(args.block_tokens * scale) + args.lookahead
        vocab = flow.dit.config.vocab_size
        noise = torch.randn(1, flow.n_frames(n_prompt + n_block), 80, generator=gen)
        rows.append(
            FlowRow(
                tokens=torch.randint(0, vocab, (1, n_block), generator=gen).to(flow.device),
                prompt_tokens=torch.randint(0, vocab, (1, n_prompt), generator=gen).to(flow.device),
                prompt_mel=torch.randn(1, 2 * n_prompt, 80, generator=gen).to(flow.device) * 2 - 5,
                embedding=torch.randn(1, 192, generator=gen).to(flow.device),
                noise=noise.to(flow.device),
            )
        )
    return rows


def median_ms(call: Callable[[], object], repeats: int, sync: Callable[[], None]) -> float:
    """Median wall time of ``call`` in ms over ``repeats`` runs after one warm-up."""
    call()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        sync()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_flow(flow: FlowModel, rows: list[FlowRow], args: argparse.Namespace, sync) -> dict[str, float]:
    """Serial and batched flow times for ``rows`` and the largest batched-vs-alone mel difference."""
    steps = args.timesteps

    def serial() -> list[torch.Tensor]:
        return [
            flow.inference(r.tokens, r.prompt_tokens, r.prompt_mel, r.embedding, steps, noise=r.noise)
            for r in rows
        ]

    def batched() -> list[torch.Tensor]:
        return flow.inference_batch(rows, steps)

    alone, together = serial(), batched()
    if len(rows) == 1 and not torch.equal(alone[0], together[0]):
        raise AssertionError("a batch of one must be bit-identical to inference()")
    diff = max(float((a - b).abs().max()) for a, b in zip(alone, together, strict=True))
    return {
        "serial": median_ms(serial, args.repeats, sync),
        "batched": median_ms(batched, args.repeats, sync),
        "diff": diff,
        "frames": max(flow.n_frames(r.prompt_tokens.shape[1] + r.tokens.shape[1]) for r in rows),
    }


def bench_hift(vocoder: HiFTVocoder, n_rows: int, args: argparse.Namespace, sync) -> dict[str, float]:
    """Serial and batched HiFT on ``n_rows`` equal-length streamed-block mels."""
    gen = torch.Generator().manual_seed(11 + n_rows)
    n_frames = StreamSchedule().vocoder_context_frames + 2 * args.block_tokens
    mels = [torch.randn(1, 80, n_frames, generator=gen).to(vocoder.device) * 2 - 5 for _ in range(n_rows)]
    noises = [vocoder.draw_noise(n_frames, gen) for _ in range(n_rows)]
    stacked_mel = torch.cat(mels)
    stacked_noise = HiFTNoise(
        initial_phase=torch.cat([n.initial_phase for n in noises]),
        sine_noise=torch.cat([n.sine_noise for n in noises]),
    )

    def serial() -> list[torch.Tensor]:
        return [vocoder.vocode(mel, noise).wave for mel, noise in zip(mels, noises, strict=True)]

    def batched() -> torch.Tensor:
        return vocoder.vocode(stacked_mel, stacked_noise).wave

    alone, together = serial(), batched()
    diff = max(float((a[0] - together[i]).abs().max()) for i, a in enumerate(alone))
    return {
        "serial": median_ms(serial, args.repeats, sync),
        "batched": median_ms(batched, args.repeats, sync),
        "diff": diff,
        "frames": n_frames,
    }


def print_row(what: str, batch: int, figures: dict[str, float]) -> None:
    speedup = figures["serial"] / figures["batched"]
    print(
        f"| {what} | {batch} | {figures['frames']} | {figures['serial']:.0f} | {figures['batched']:.0f} "
        f"| {speedup:.2f}x | {figures['diff']:.1e} |",
        flush=True,
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, mps...)")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timesteps", type=int, default=10, help="flow Euler steps (2 DiT passes each)")
    parser.add_argument("--prompt-seconds", type=float, default=4.0)
    parser.add_argument("--block-tokens", type=int, default=StreamSchedule().block_tokens[0])
    parser.add_argument("--lookahead", type=int, default=StreamSchedule().lookahead_tokens)
    parser.add_argument("--cases", nargs="+", default=["equal", "ragged"], choices=["equal", "ragged"])
    parser.add_argument("--skip-hift", action="store_true")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    torch.set_num_threads(args.threads)
    device, dtype = torch.device(args.device), DTYPES[args.dtype]

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    flow, vocoder = build_models(device, dtype)
    print(
        f"device {device}, {args.dtype}, {args.threads} threads, {args.timesteps} flow steps, prompt "
        f"{args.prompt_seconds:g} s + block {args.block_tokens}+{args.lookahead} tokens, "
        f"median of {args.repeats}"
    )
    print("| stage | B | frames | serial ms | batched ms | speed-up | max diff |")
    print("|---|---|---|---|---|---|---|")
    for batch in args.batches:
        for case in args.cases:
            if case == "ragged" and batch == 1:
                continue
            rows = flow_rows(flow, batch, args, ragged=case == "ragged")
            print_row(f"flow {case}", batch, bench_flow(flow, rows, args, sync))
        if not args.skip_hift:
            print_row("hift", batch, bench_hift(vocoder, batch, args, sync))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
