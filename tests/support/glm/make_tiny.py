"""Write a seeded tiny random-weight GLM-TTS checkpoint in the official layout (tests and demos).

``python -m tests.support.glm.make_tiny DIR [--seed N]`` writes, in about a second::

    DIR/llm/{config.json, generation_config.json, model.safetensors}   Llama, vocab 2048, hidden 64
    DIR/vq32k-phoneme-tokenizer/{tokenizer.model, tokenizer_config.json}
    DIR/speech_tokenizer/{config.json, model.safetensors, preprocessor_config.json}
    DIR/flow/{flow.pt, config.yaml}   DiT 128 wide, 2 deep (sizes in the config's tiny_dit_override)
    DIR/hift/hift.pt                  HiFT with 64 base channels
    DIR/campplus.onnx                 a 2-layer stand-in speaker encoder with the CAMPPlus interface
    DIR/default_prompt.wav + default_prompt.txt   a synthetic 2 s prompt, used as the built-in voice

Special ids follow the reference tiny checkpoint: ``<|endoftext|>`` 1000, ``<|user|>`` 1003,
``<|begin_of_audio|>`` 1004, ``<|audio_0..1023|>`` 1024..2047; text and phoneme ids lie below 1000. The
LM head rows of audio tokens are scaled ×3 and end-of-audio ×6 (as in the reference tiny checkpoint) so
the random model emits audio tokens and stops. Output is byte-identical for a given seed.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

_LOGGER = logging.getLogger(__name__)

N_TEXT_IDS = 1000
N_AUDIO_TOKENS = 1024
SPECIAL_TOKENS = (
    "<|endoftext|>", "[MASK]", "[gMASK]", "<|user|>", "<|begin_of_audio|>", "<|end_of_audio|>",
    "<|system|>", "<|assistant|>", "<|observation|>", "[sMASK]", "<sop>", "<eop>",
)  # fmt: skip
_CORPUS = (
    "你好，世界。我最爱吃人参果，你喜欢吃吗？今天天气很好，我们一起去公园散步吧。这是一个测试，用来检查语音合成。"
    "他当时还跟线下其他的站姐吵架，然后打架进局子了。一二三四五六七八九十，百千万亿。春夏秋冬，东南西北。"
    "Hello, world. This is a tiny test of the speech synthesis engine. The quick brown fox jumps over the lazy dog. "
    "We love to read, write and speak; numbers like 123 and 2024 are spelled out. How are you today? Fine, thanks! "
)


def train_byte_bpe(text: str, n_ranks: int, split_pattern: str) -> dict[bytes, int]:
    """A deterministic byte-level BPE rank table of at most ``n_ranks`` entries learned from ``text``."""
    import regex

    ranks = {bytes([value]): value for value in range(256)}
    words = Counter(tuple(bytes([b]) for b in piece.encode()) for piece in regex.findall(split_pattern, text))
    while len(ranks) < n_ranks:
        pairs: Counter[tuple[bytes, bytes]] = Counter()
        for word, count in words.items():
            for pair in itertools.pairwise(word):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        if pairs[best] < 2:
            break
        ranks[best[0] + best[1]] = len(ranks)
        words = Counter({_merge(word, best): count for word, count in words.items()})
    return ranks


def _merge(word: tuple[bytes, ...], pair: tuple[bytes, bytes]) -> tuple[bytes, ...]:
    merged: list[bytes] = []
    index = 0
    while index < len(word):
        if index + 1 < len(word) and (word[index], word[index + 1]) == pair:
            merged.append(pair[0] + pair[1])
            index += 2
        else:
            merged.append(word[index])
            index += 1
    return tuple(merged)


def write_tokenizer(
    directory: Path,
    n_text_ids: int = N_TEXT_IDS,
    audio_start: int = N_TEXT_IDS + 24,
    n_audio: int = N_AUDIO_TOKENS,
) -> None:
    """Rank table + added tokens in the official formats (``tokenizer.model``, ``tokenizer_config.json``).

    Text and phoneme ids fill ``[0, n_text_ids)``, the specials start at ``n_text_ids`` (``<|endoftext|>``)
    and ``<|audio_0..n_audio-1|>`` start at ``audio_start``; the real layout is 59246 / 61498 / 32768.
    """
    from glmtts.engines.glm.tokenizer import GLM4_SPLIT_PATTERN
    from glmtts.text.phonemes import VALID_TOKENS

    phonemes = [f"<|{token}|>" for token in sorted(VALID_TOKENS)]
    n_ranks = n_text_ids - len(phonemes)
    ranks = train_byte_bpe(_CORPUS, n_ranks, GLM4_SPLIT_PATTERN)
    for index in range(len(ranks), n_ranks):
        ranks[f"<|UNUSED_pad_{index}|>".encode()] = index
    added = {token: n_ranks + index for index, token in enumerate(phonemes)}
    added.update({token: n_text_ids + index for index, token in enumerate(SPECIAL_TOKENS)})
    added.update({f"<|audio_{index}|>": audio_start + index for index in range(n_audio)})
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{base64.b64encode(token).decode()} {rank}"
        for token, rank in sorted(ranks.items(), key=lambda kv: kv[1])
    ]
    (directory / "tokenizer.model").write_text("\n".join(lines) + "\n", encoding="utf-8")
    decoder = {
        str(token_id): {"content": token, "lstrip": False, "normalized": False, "rstrip": False,
                        "single_word": False, "special": True}
        for token, token_id in sorted(added.items(), key=lambda kv: kv[1])
    }  # fmt: skip
    config = {
        "added_tokens_decoder": decoder,
        "tokenizer_class": "ChatGLM4Tokenizer",
        "eos_token": "<|endoftext|>",
    }
    _write_json(directory / "tokenizer_config.json", config)


def write_llm(directory: Path, seed: int) -> None:
    """A 2-layer Llama with the tiny vocabulary layout (``save_pretrained`` format, one safetensors file)."""
    import torch
    from safetensors.torch import save_file
    from transformers import LlamaConfig, LlamaForCausalLM

    config_data: dict[str, Any] = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 2048, "hidden_size": 64,
        "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 16, "hidden_act": "silu", "max_position_embeddings": 8192, "rms_norm_eps": 1e-05,
        "rope_theta": 10000.0, "rope_scaling": None, "tie_word_embeddings": False, "initializer_range": 0.1,
        "attention_bias": False, "mlp_bias": False, "bos_token_id": 1000, "eos_token_id": 1003,
        "pad_token_id": 1000, "use_cache": True, "dtype": "float32",
    }  # fmt: skip
    config = LlamaConfig.from_dict(config_data)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    state = {key: value.detach().clone().contiguous() for key, value in model.state_dict().items()}
    head = state["lm_head.weight"]
    head[N_TEXT_IDS + 24 :] *= 3.0
    head[N_TEXT_IDS + 3] *= 6.0
    directory.mkdir(parents=True, exist_ok=True)
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    _write_json(directory / "config.json", config_data)
    _write_json(
        directory / "generation_config.json",
        {"bos_token_id": 1000, "eos_token_id": 1003, "pad_token_id": 1000},
    )


def _speech_tokenizer_config() -> dict[str, Any]:
    return {
        "architectures": ["WhisperVQForConditionalGeneration"], "model_type": "whisper",
        "d_model": 64, "encoder_attention_heads": 4, "encoder_ffn_dim": 128, "encoder_layers": 4,
        "decoder_attention_heads": 4, "decoder_ffn_dim": 128, "decoder_layers": 1, "num_mel_bins": 128,
        "max_source_positions": 1500, "max_target_positions": 448, "pooling_kernel_size": 2,
        "pooling_position": 2, "pooling_type": "avg", "quantize_position": 2, "quantize_vocab_size": 64,
        "quantize_causal_block_size": 10, "quantize_ema_decay": 0.99, "quantize_encoder_only": False,
        "encoder_causal_attention": False, "encoder_causal_convolution": False, "activation_function": "gelu",
        "vocab_size": 51866, "init_std": 0.1, "scale_embedding": False,
    }  # fmt: skip


def write_speech_tokenizer(directory: Path, seed: int) -> None:
    """A Whisper-VQ encoder (4 layers stored, 2 used) whose codebook is spread over real hidden states."""
    import torch
    from safetensors.torch import save_file

    from glmtts.engines.glm.speech_tokenizer import (
        SpeechTokenizer,
        WhisperVQSettings,
        build_whisper_vq_encoder,
    )

    config = _speech_tokenizer_config()
    settings = WhisperVQSettings.from_config({**config, "quantize_position": 4}, directory)
    generator = torch.Generator().manual_seed(seed + 1)
    encoder = build_whisper_vq_encoder(settings)
    with torch.no_grad():
        for name, tensor in encoder.named_parameters():
            std = 0.1 if "weight" in name and tensor.ndim > 1 else 0.02
            tensor.copy_(
                torch.randn(tensor.shape, generator=generator) * std + (1.0 if "norm.weight" in name else 0.0)
            )
    from transformers import WhisperFeatureExtractor

    extractor = WhisperFeatureExtractor(feature_size=128)
    used = WhisperVQSettings.from_config(config, directory)
    tokenizer = SpeechTokenizer(encoder, used, extractor)
    with torch.no_grad():
        hidden, valid = tokenizer.encode_hidden(*tokenizer.features([_calibration_signal(seed)]))
        frames = hidden[valid.bool()]
        picks = torch.randint(0, frames.shape[0], (used.codebook_size,), generator=generator)
        jitter = 0.05 * frames.std(0) * torch.randn(used.codebook_size, used.d_model, generator=generator)
        encoder.codebook.weight.copy_(frames[picks] + jitter)
    state = {f"model.encoder.{key}": value.contiguous() for key, value in encoder.state_dict().items()}
    width = settings.d_model
    state["model.encoder.layer_norm.weight"] = torch.ones(width)
    state["model.encoder.layer_norm.bias"] = torch.zeros(width)
    directory.mkdir(parents=True, exist_ok=True)
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    _write_json(directory / "config.json", config)
    extractor_config = extractor.to_dict()
    extractor_config.pop("mel_filters", None)
    _write_json(directory / "preprocessor_config.json", extractor_config)


def _calibration_signal(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    time_s = np.arange(3 * 16000) / 16000.0
    sweep = 0.4 * np.sin(2 * np.pi * (100 + 600 * time_s) * time_s)
    return (sweep + 0.05 * rng.standard_normal(time_s.size)).astype(np.float32)


def write_campplus(path: Path, seed: int) -> None:
    """A stand-in speaker encoder with CAMPPlus's interface: ``input [B, T, 80]`` -> ``[B, 192]``."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as exc:
        raise SystemExit(
            "make_tiny needs the `onnx` package to write campplus.onnx (pip install onnx)"
        ) from exc
    rng = np.random.default_rng(seed + 2)
    first = (rng.standard_normal((160, 64)) * 0.2).astype(np.float32)
    second = (rng.standard_normal((64, 192)) * 0.3).astype(np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["mean"], axes=[1], keepdims=0),
        helper.make_node("Mul", ["input", "input"], ["square"]),
        helper.make_node("ReduceMean", ["square"], ["power"], axes=[1], keepdims=0),
        helper.make_node("Concat", ["mean", "power"], ["stats"], axis=1),
        helper.make_node("MatMul", ["stats", "first"], ["hidden"]),
        helper.make_node("Tanh", ["hidden"], ["activated"]),
        helper.make_node("MatMul", ["activated", "second"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_campplus",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["B", "T", 80])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["B", 192])],
        [numpy_helper.from_array(first, "first"), numpy_helper.from_array(second, "second")],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="glmtts-make-tiny"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())


def write_default_prompt(directory: Path) -> None:
    """The built-in voice's prompt clip and transcript."""
    import soundfile

    from glmtts.engines.glm.voice import synthetic_prompt

    soundfile.write(str(directory / "default_prompt.wav"), synthetic_prompt(), 24000, subtype="PCM_16")
    (directory / "default_prompt.txt").write_text("这是一个测试。\n", encoding="utf-8")


_FLOW_YAML = """# Tiny GLM-TTS flow config in the official HyperPyYAML form (written by tests/support/glm/make_tiny.py).
flow: !new:flow.flow.Flow
    speech_token_dim: 64
    vocab_size: 1024
    input_frame_rate: 25
    mel_dim: 80
    big_model: False
    spkr_emb_adaLN: True
    speech_token_cfg: False
    remove_spkr_concat_condition: True
    t_scheduler: cosine
    mel_framerate: 50

# The official Flow class hard-codes the DiT size; tiny checkpoints record theirs here.
tiny_dit_override:
    trans_dim: 128
    depth: 2
    heads: 2
"""


def _perturb(state: dict[str, Any], generator: Any) -> None:
    """``p += N(0, 0.1·std(p))`` (``N(0, 0.1)`` for constant tensors) so no parameter keeps a trivial init."""
    import torch

    for value in state.values():
        if value.is_floating_point() and value.numel():
            spread = float(value.std()) if value.numel() > 1 else 0.0
            scale = 0.1 * spread if spread > 0 else 0.1
            value.add_(torch.randn(value.shape, generator=generator) * scale)


def write_flow(directory: Path, seed: int) -> None:
    """A 2-block DiT (128 wide) saved as ``flow.pt`` (``estimator.*`` keys) + ``config.yaml``."""
    import torch

    from glmtts.engines.glm.dit import DiT, DiTConfig

    torch.manual_seed(seed + 3)
    dit = DiT(DiTConfig(dim=128, depth=2, heads=2, text_dim=64, vocab_size=1024))
    state = {key: value.detach().clone() for key, value in dit.state_dict().items()}
    _perturb(state, torch.Generator().manual_seed(seed + 4))
    directory.mkdir(parents=True, exist_ok=True)
    torch.save({f"estimator.{key}": value for key, value in state.items()}, str(directory / "flow.pt"))
    (directory / "config.yaml").write_text(_FLOW_YAML, encoding="utf-8")


def write_hift(path: Path, seed: int) -> None:
    """A HiFT with 64 base channels saved with weight-norm ``parametrizations`` keys, as upstream saves it."""
    import torch

    from glmtts.engines.glm.hift import HiFTConfig, HiFTGenerator
    from glmtts.engines.glm.weight_norm import checkpoint_shapes

    torch.manual_seed(seed + 5)
    model = HiFTGenerator(HiFTConfig(base_channels=64, f0_channels=64))
    plain = {key: value.detach().clone() for key, value in model.state_dict().items()}
    _perturb(plain, torch.Generator().manual_seed(seed + 6))
    # A random F0 predictor gives a nearly constant F0; spread it across the 10 Hz voicing threshold.
    plain["f0_predictor.classifier.weight"] *= 4000.0
    plain["f0_predictor.classifier.bias"].fill_(60.0)
    state: dict[str, Any] = {}
    for key, shape in checkpoint_shapes(model).items():
        if key.endswith(".parametrizations.weight.original1"):
            state[key] = plain[key.replace(".parametrizations.weight.original1", ".weight")]
        elif key.endswith(".parametrizations.weight.original0"):
            direction = plain[key.replace(".parametrizations.weight.original0", ".weight")]
            state[key] = direction.flatten(1).norm(dim=1).reshape(shape)
        else:
            state[key] = plain[key]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, str(path))


def make_tiny_checkpoint(directory: Path, seed: int = 1234) -> Path:
    """Write the whole tiny checkpoint into ``directory`` (created if needed) and return it."""
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng():
        write_tokenizer(directory / "vq32k-phoneme-tokenizer")
        write_llm(directory / "llm", seed)
        write_speech_tokenizer(directory / "speech_tokenizer", seed)
        write_flow(directory / "flow", seed)
        write_hift(directory / "hift" / "hift.pt", seed)
    write_campplus(directory / "campplus.onnx", seed)
    write_default_prompt(directory)
    _LOGGER.info("wrote tiny GLM-TTS checkpoint to %s", directory)
    return directory


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: ``python -m tests.support.glm.make_tiny DIR [--seed N]``."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.glm.make_tiny", description=__doc__.split("\n")[0]
    )
    parser.add_argument("directory", type=Path, help="output directory (created if missing)")
    parser.add_argument("--seed", type=int, default=1234, help="random seed (default 1234)")
    args = parser.parse_args(argv)
    path = make_tiny_checkpoint(args.directory, args.seed)
    print(f"tiny GLM-TTS checkpoint written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
