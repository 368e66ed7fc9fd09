"""LLM decode speed: glmtts's cached decoding loop against upstream's approach, on the same random weights.

* ``glmtts``: :meth:`SpeechTokenLM.generate` — one prefill, then one token per step through a
  preallocated KV cache (grouped-query attention without repeating K/V), sampling (RAS) on the device.
* ``upstream``: a plain per-step Hugging Face forward (``inputs_embeds`` + ``DynamicCache``), full-vocab
  ``log_softmax`` and upstream's Python-side RAS (a Python loop over sorted probabilities with ``.item()``
  per candidate, a repetition check over a Python list).

Both decode exactly ``--tokens`` tokens after a prompt of ``--prompt`` tokens (end-of-audio is never
sampled: min length = max length). Sizes: ``real`` (1.75 B, from tests/data/glmtts-ref/manifests/llm.json),
``medium`` (hidden 512, 8 layers, vocab 98 304) or ``tiny``. Target: glmtts ≥ 1.5 × upstream tokens/s.

Usage::

    python bench/glm_decode.py --size medium --dtype float32 --threads 2
    python bench/glm_decode.py --size real --dtype bfloat16 --tokens 24

Figures measured on the 2-core dev VM (AVX2, no GPU) while other jobs kept the load average at 8–12, so
absolute numbers are noisy; the ratio is what matters (RAS sampling, float32):

    size     params   upstream tok/s   glmtts tok/s   ratio
    tiny       13 M        13.5            34.5        2.55x   (--tokens 32, 1 thread)
    medium    125 M         1.64            2.13       1.30x   (--tokens 48, 2 threads)
    real     1.75 B         0.18            0.34       1.87x   (--tokens 8 --prompt 120 --repeats 1, 2 threads)

The gain comes from removing per-step work the upstream loop does besides the weight reads both loops
share: HF cache/mask bookkeeping (and repeating the grouped K/V heads of the whole cache every step), the
full-vocabulary stable sort and per-candidate ``.item()`` syncs of the Python sampler. The medium model
shows less because its 98 304-row LM head dominates a step.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))

from glmtts.engines.glm.llm import LengthLimits, SpecialTokenIds, SpeechTokenLM  # noqa: E402
from glmtts.engines.glm.sampling import RasSampler  # noqa: E402

SPECIAL = SpecialTokenIds(pad=59246, eoa=59253, boa=59250, ats=61498, ate=61498 + 32767)
SIZES = {
    "tiny": {"hidden_size": 64, "intermediate_size": 192, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2},
    "medium": {"hidden_size": 512, "intermediate_size": 1536, "num_hidden_layers": 8, "num_attention_heads": 8,
               "num_key_value_heads": 2},
}  # fmt: skip


def llama_config(size: str) -> dict:
    manifest = json.loads((REPO_ROOT / "tests/data/glmtts-ref/manifests/llm.json").read_text())
    config = dict(manifest["config"])
    config.update(SIZES.get(size, {}))
    return config


def random_model(size: str, dtype: torch.dtype):
    """A LlamaForCausalLM with seeded random weights (built directly, the way a checkpoint would load)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig.from_dict(llama_config(size))
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    model = model.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" in name:
                param.fill_(1.0)
            else:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.02)
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    model.model.rotary_emb = LlamaRotaryEmbedding(config=config)
    return model.to(dtype).eval()


def upstream_ras(logp: torch.Tensor, history: list[int], generator: torch.Generator) -> int:
    """Upstream's ras_sampling: Python nucleus loop, then a repetition check on a Python list."""
    probs, indices = logp.softmax(dim=0).sort(descending=True, stable=True)
    kept, ids, cumulative = [], [], 0.0
    for index in range(len(indices)):
        if cumulative < 0.8 and len(kept) < 25:
            cumulative += probs[index].item()
            kept.append(probs[index].item())
            ids.append(indices[index].item())
        else:
            break
    token = ids[int(torch.tensor(kept).multinomial(1, replacement=True, generator=generator))]
    if (torch.tensor(history[-10:]) == token).sum().item() >= 1:
        token = int(logp.softmax(dim=0).multinomial(1, replacement=True, generator=generator))
    return token


def upstream_decode(model, input_ids: list[int], n_tokens: int, eoa: int) -> float:
    """Tokens/s of a plain per-step HF forward loop with Python-side sampling."""
    import inspect

    from transformers import DynamicCache

    cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    generator = torch.Generator().manual_seed(0)
    cache = DynamicCache()
    embeds = model.model.embed_tokens(torch.tensor([input_ids]))
    history: list[int] = []
    started = None
    with torch.inference_mode():
        for step in range(n_tokens + 1):
            out = model(inputs_embeds=embeds, use_cache=True, **{cache_arg: cache})
            cache = getattr(out, "cache", None) or out.past_key_values
            logp = out.logits[:, -1].float().log_softmax(dim=-1)[0]
            logp[eoa] = -math.inf
            token = upstream_ras(logp, history, generator)
            history.append(token)
            embeds = model.model.embed_tokens(torch.tensor([[token]]))
            if step == 0:
                started = time.perf_counter()  # count decode steps only, not the prefill
    return n_tokens / (time.perf_counter() - started)


def glmtts_decode(lm: SpeechTokenLM, text_ids: list[int], speech_ids: list[int], n_tokens: int) -> float:
    """Tokens/s of SpeechTokenLM.generate forced to n_tokens + 1 tokens (the first, after prefill, excluded)."""
    limits = LengthLimits(min_ratio=1.0, max_ratio=1.0)
    generator = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    count = 0
    for count, _token in enumerate(
        lm.generate([1], text_ids, speech_ids, RasSampler(), generator, limits), 1
    ):
        if count == 1:
            started = time.perf_counter()
    return (count - 1) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=("real", "medium", "tiny"), default="medium")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--prompt", type=int, default=150, help="prompt length in tokens (default 150)")
    parser.add_argument("--tokens", type=int, default=64, help="decoded tokens per run (default 64)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    built = time.perf_counter()
    model = random_model(args.size, dtype)
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"model: {args.size} ({n_params / 1e6:.0f} M params, {args.dtype}), built in {time.perf_counter() - built:.1f} s"
    )
    lm = SpeechTokenLM(model, SPECIAL)
    generator = torch.Generator().manual_seed(1)
    text_ids = torch.randint(0, 59000, (args.tokens + 1,), generator=generator).tolist()
    speech_ids = torch.randint(
        0, 32768, (max(1, args.prompt - args.tokens - 2),), generator=generator
    ).tolist()
    # generate() builds [prompt text, text, boa, speech + ats]: feed the same ids to the upstream loop
    upstream_ids = lm.build_input_ids([1], text_ids, speech_ids)
    ours, theirs = [], []
    for _ in range(args.repeats):
        theirs.append(upstream_decode(model, upstream_ids, args.tokens, SPECIAL.eoa))
        ours.append(glmtts_decode(lm, text_ids, speech_ids, args.tokens))
    ours_rate, theirs_rate = statistics.median(ours), statistics.median(theirs)
    print(f"{'loop':<10} {'tokens/s':>10}")
    print(f"{'upstream':<10} {theirs_rate:>10.2f}")
    print(f"{'glmtts':<10} {ours_rate:>10.2f}")
    print(f"ratio glmtts/upstream = {ours_rate / theirs_rate:.2f}x (target >= 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
