"""glm engine cold start: T_ready (load + one warm-up synthesis) against reading the same bytes.

Builds once (cached in ``$TMPDIR/glmtts-bench-ckpt-<size>``) a random-weight checkpoint in the official
layout — at the REAL sizes by default (LLM 1.75 B params as 2 fp32 safetensors shards + index, Whisper-VQ
encoder 16 layers + codebook, flow DiT 768×18, HiFT 512 channels, the real vocabulary layout of the text
tokenizer; the speaker encoder is the tiny ONNX stand-in) — then, per dtype, in a fresh process:

* ``T_read``: read every byte of the checkpoint files (page cache as warm as for the load);
* ``T_ready``: ``engine.load()`` + ``engine.warmup()`` (new synthetic voice + a one-shot sentence);
* ``T_warm``: a second ``warmup()`` after ``release()`` (the steady-state cost of that synthesis);
* peak RSS; the imports (torch, transformers, onnxruntime, text frontend) are done and timed first
  (a fixed per-process cost, shown separately).

Target: ``T_ready <= 1.3 × (T_read + T_warm)``. Random weights never stop by themselves, so the warm-up is
bounded with ``max_token_ratio = min_token_ratio = 2`` (same setting for both warm-up runs).

Usage::

    python bench/glm_load.py                 # real sizes, float32 and bfloat16
    python bench/glm_load.py --size small    # medium-size stand-in (quick check)

Figures measured on the 2-core dev VM (AVX2, no GPU). Latest, under the shared CPU lock on a quiet machine
(load average ~2), with the per-component precision (``--dtype bfloat16`` is the LLM only; the speech
tokenizer, flow and HiFT stay float32) and the one-shot warm-up:

    size   dtype     imports  T_read  T_load  T_ready  T_warm  ratio  peak RSS
    real   float32     8.7 s  16.5 s   1.3 s   30.6 s  25.0 s  0.74   8911 MiB   (9.0 GB checkpoint)
    real   bfloat16    9.4 s  16.6 s   8.3 s   33.8 s  27.7 s  0.76   6588 MiB   (LLM cast while loading)

Earlier (every component in ``dtype``, streamed warm-up, load average 8–12, so times inflated several-fold):

    real   float32    32.6 s  23.3 s   6.7 s  202.5 s 161.5 s  1.10   8968 MiB
    real   bfloat16   30.0 s  18.0 s  24.4 s  401.8 s 334.7 s  1.14   6612 MiB

Loading the real-size weights (6.7 s) costs less than reading their bytes (23.3 s): the LLM is built on
the meta device and the tensors are assigned, not copied into a randomly initialised model.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))
if str(REPO_ROOT) not in sys.path:  # the tiny-checkpoint writer lives under tests/
    sys.path.append(str(REPO_ROOT))

SHARD_BYTES = 4 * 1024**3
FLOW_YAML = """flow: !new:flow.flow.Flow
    speech_token_dim: 512
    vocab_size: 100000
    input_frame_rate: 25
    mel_dim: 80
    big_model: False
    spkr_emb_adaLN: True
    speech_token_cfg: False
    remove_spkr_concat_condition: True
    t_scheduler: cosine
    mel_framerate: 50
"""


def _manifest(name: str) -> dict:
    return json.loads((REPO_ROOT / "tests/data/glmtts-ref/manifests" / f"{name}.json").read_text())


def _llm_config(size: str) -> dict:
    config = dict(_manifest("llm")["config"])
    if size == "small":
        config.update(hidden_size=512, intermediate_size=1536, num_hidden_layers=8, num_attention_heads=8)
    config.update(bos_token_id=59246, eos_token_id=59253, pad_token_id=59246, dtype="float32")
    return config


def write_llm(directory: Path, size: str) -> None:
    """Random fp32 weights in HF's sharded save_pretrained layout, written shard by shard."""
    import torch
    from safetensors.torch import save_file

    from glmtts.engines.glm.llm import build_llama_on_meta

    config = _llm_config(size)
    shapes = {key: tuple(value.shape) for key, value in build_llama_on_meta(config).state_dict().items()}
    groups: list[list[str]] = [[]]
    used = 0
    for key, shape in shapes.items():
        n_bytes = 4 * int(torch.Size(shape).numel())
        if groups[-1] and used + n_bytes > SHARD_BYTES:
            groups.append([])
            used = 0
        groups[-1].append(key)
        used += n_bytes
    directory.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(0)
    weight_map = {}
    for index, keys in enumerate(groups, start=1):
        name = f"model-{index:05d}-of-{len(groups):05d}.safetensors"
        tensors = {
            key: torch.ones(shapes[key])
            if "norm" in key
            else torch.randn(shapes[key], generator=generator) * 0.02
            for key in keys
        }
        save_file(tensors, str(directory / name), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(keys, name))
        del tensors
    index_data = {"metadata": {"total_size": 4 * sum(int(torch.Size(s).numel()) for s in shapes.values())},
                  "weight_map": weight_map}  # fmt: skip
    (directory / "model.safetensors.index.json").write_text(json.dumps(index_data, indent=2))
    (directory / "config.json").write_text(
        json.dumps({**config, "architectures": ["LlamaForCausalLM"]}, indent=2)
    )


def write_speech_tokenizer(directory: Path, size: str) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import WhisperFeatureExtractor

    from glmtts.engines.glm.speech_tokenizer import WhisperVQSettings, build_whisper_vq_encoder

    config = dict(_manifest("speech_tokenizer")["config"])
    if size == "small":
        config.update(d_model=256, encoder_ffn_dim=1024, encoder_attention_heads=4, quantize_position=4,
                      pooling_position=4, encoder_layers=4)  # fmt: skip
    settings = WhisperVQSettings.from_config(config, directory)
    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in build_whisper_vq_encoder(settings).state_dict().items()}
    generator = torch.Generator().manual_seed(1)
    tensors = {f"model.encoder.{k}": torch.randn(s, generator=generator) * 0.02 for k, s in shapes.items()}
    directory.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
    (directory / "config.json").write_text(json.dumps({**config, "activation_function": "gelu"}, indent=2))
    extractor = WhisperFeatureExtractor(feature_size=128).to_dict()
    extractor.pop("mel_filters", None)
    (directory / "preprocessor_config.json").write_text(json.dumps(extractor, indent=2))


def write_flow_and_hift(root: Path, size: str) -> None:
    import torch

    from glmtts.engines.glm.dit import DiT, DiTConfig
    from glmtts.engines.glm.hift import HiFTConfig, HiFTGenerator

    torch.manual_seed(2)
    dit_config = DiTConfig() if size == "real" else DiTConfig(dim=256, depth=4, heads=4)
    dit = DiT(dit_config)
    (root / "flow").mkdir(parents=True, exist_ok=True)
    torch.save({f"estimator.{k}": v for k, v in dit.state_dict().items()}, str(root / "flow" / "flow.pt"))
    yaml_text = FLOW_YAML
    if size != "real":
        yaml_text += "\ntiny_dit_override:\n    trans_dim: 256\n    depth: 4\n    heads: 4\n"
    (root / "flow" / "config.yaml").write_text(yaml_text)
    del dit
    make_tiny_hift = HiFTGenerator(HiFTConfig())
    _save_hift(make_tiny_hift, root / "hift" / "hift.pt")


def _save_hift(model, path: Path) -> None:
    import torch

    from glmtts.engines.glm.weight_norm import checkpoint_shapes

    plain = model.state_dict()
    state = {}
    for key, shape in checkpoint_shapes(model).items():
        base = key.replace(".parametrizations.weight.original1", ".weight").replace(
            ".parametrizations.weight.original0", ".weight"
        )
        value = plain[base]
        state[key] = value.flatten(1).norm(dim=1).reshape(shape) if key.endswith("original0") else value
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, str(path))


def build_checkpoint(root: Path, size: str) -> Path:
    from tests.support.glm import make_tiny

    marker = root / ".complete"
    if marker.is_file():
        return root
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    make_tiny.write_tokenizer(
        root / "vq32k-phoneme-tokenizer", n_text_ids=59246, audio_start=61498, n_audio=32768
    )
    write_llm(root / "llm", size)
    write_speech_tokenizer(root / "speech_tokenizer", size)
    write_flow_and_hift(root, size)
    make_tiny.write_campplus(root / "campplus.onnx", seed=0)
    make_tiny.write_default_prompt(root)
    marker.write_text("ok")
    print(f"built {size} checkpoint in {root} in {time.perf_counter() - started:.0f} s", flush=True)
    return root


def read_bytes(root: Path) -> float:
    started = time.perf_counter()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                while handle.read(64 * 1024 * 1024):
                    pass
    return time.perf_counter() - started


def import_stack() -> float:
    """Import what ``engine.load()`` imports (torch, transformers' Llama, onnxruntime, the frontend)."""
    started = time.perf_counter()
    import onnxruntime  # noqa: F401
    import torch  # noqa: F401
    import transformers.models.llama.modeling_llama  # noqa: F401
    from transformers import WhisperFeatureExtractor  # noqa: F401

    import glmtts.engines.glm.pipeline
    import glmtts.engines.glm.token2wav
    import glmtts.text  # noqa: F401

    return time.perf_counter() - started


def measure(root: Path, dtype: str, threads: int) -> dict:
    """Run in a fresh process: imports, T_read, T_ready (load + warm-up), T_warm and peak RSS."""
    from glmtts.engines.base import EngineConfig
    from glmtts.engines.registry import create_engine

    t_import = import_stack()
    t_read = read_bytes(root)
    extra = {"min_token_ratio": 2.0, "max_token_ratio": 2.0}
    started = time.perf_counter()
    engine = create_engine(
        EngineConfig(name="glm", ckpt_dir=root, dtype=dtype, n_threads=threads, extra=extra)
    )
    engine.load()
    t_load = time.perf_counter() - started
    engine.warmup()
    t_ready = time.perf_counter() - started
    engine.release()  # the engine keeps no voice cache: the second warm-up extracts its features again
    started = time.perf_counter()
    engine.warmup()
    t_warm = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "dtype": dtype, "t_import": t_import, "t_read": t_read, "t_load": t_load, "t_ready": t_ready,
        "t_warm": t_warm, "rss": peak_mib,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=("real", "small"), default="real")
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: run one measurement in this process
    args = parser.parse_args()
    root = Path(tempfile.gettempdir()) / f"glmtts-bench-ckpt-{args.size}"
    if args.measure:
        print(json.dumps(measure(root, args.measure, args.threads)))
        return 0
    build_checkpoint(root, args.size)
    rows = []
    for dtype in args.dtypes.split(","):
        command = [
            sys.executable,
            __file__,
            "--size",
            args.size,
            "--threads",
            str(args.threads),
            "--measure",
            dtype,
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
    header = ("dtype", "imports", "T_read", "T_load", "T_ready", "T_warm", "ratio", "peak RSS")
    print("{:<9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>10}".format(*header))
    for row in rows:
        ratio = row["t_ready"] / (row["t_read"] + row["t_warm"])
        print(
            f"{row['dtype']:<9} {row['t_import']:>7.1f}s {row['t_read']:>7.1f}s {row['t_load']:>7.1f}s "
            f"{row['t_ready']:>7.1f}s {row['t_warm']:>7.1f}s {ratio:>6.2f} {row['rss']:>7.0f} MiB"
        )
    print("target: ratio = T_ready / (T_read + T_warm) <= 1.30")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
