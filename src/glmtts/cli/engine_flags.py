"""The engine flags every subcommand that loads an engine shares, and their one mapping to an engine config.

``glmtts synth``, ``infer``, ``batch run`` and ``voices add`` add these flags with :func:`add_engine_flags`
and turn them into an :class:`~glmtts.engines.base.EngineConfig` with :func:`engine_config_from`, which goes
through :func:`glmtts.synthesis.engine_config`, the same mapping ``glmtts serve``'s settings use.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from glmtts.engines.base import EngineConfig

DTYPES = "float32, bfloat16 or float16"


def add_engine_flags(parser: argparse.ArgumentParser, *, ckpt_default: Path | None = None) -> None:
    """``--engine --engine-class --ckpt --device --dtype --flow-dtype --hift-dtype --llm-quant --threads
    --cache-dir``."""
    group = parser.add_argument_group("engine")
    group.add_argument("--engine", default="kokoro", help="engine name (default kokoro)")
    group.add_argument("--engine-class", help="register ENGINE as this 'module:Class' first (plugins)")
    group.add_argument("--ckpt", type=Path, default=ckpt_default, help="checkpoint directory (glm engine)")
    group.add_argument("--device", default="cpu", help="cpu, cuda or mps (default cpu)")
    group.add_argument("--dtype", default="float32", help=f"the LLM's dtype: {DTYPES} (default float32)")
    group.add_argument("--flow-dtype", help=f"the flow model's dtype (glm): {DTYPES} (default float32)")
    group.add_argument("--hift-dtype", help=f"the vocoder's dtype (glm): {DTYPES} (default float32)")
    group.add_argument(
        "--llm-quant",
        choices=("none", "int8", "int4"),
        default="none",
        help="weight-only quantization of the LLM's linear layers (glm; default none)",
    )
    group.add_argument("--threads", type=int, default=2, help="CPU threads for inference (default 2)")
    group.add_argument("--cache-dir", type=Path, help="model/text caches (default: the user cache dir)")


def engine_config_from(args: argparse.Namespace, **overrides: Any) -> EngineConfig:
    """The engine configuration the flags describe."""
    from glmtts.errors import InvalidOptionError
    from glmtts.synthesis import engine_config

    if args.threads < 1:
        raise InvalidOptionError("--threads must be at least 1")
    flags: dict[str, Any] = {
        "engine_class": args.engine_class,
        "ckpt": args.ckpt,
        "device": args.device,
        "dtype": args.dtype,
        "n_threads": args.threads,
        "cache_dir": args.cache_dir,
        "flow_dtype": args.flow_dtype,
        "hift_dtype": args.hift_dtype,
        "llm_quant": args.llm_quant if args.llm_quant != "none" else None,
        **overrides,
    }
    return engine_config(args.engine, **flags)
