"""Deployment settings for ``glmtts serve``: flags, or environment variables ``GLMTTS_<NAME>``.

Built once at the entry point (CLI or test) and passed down; nothing reads the environment at import.
The settings turn into the plain objects the rest of glmtts takes: :meth:`ServeSettings.engine_config`,
:meth:`ServeSettings.runtime_config` (defaults and limits of every request, whichever front end sent it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from glmtts.audio.signal import MIN_PROMPT_S
from glmtts.engines.base import DEFAULT_SEED, EngineConfig
from glmtts.synthesis import Defaults, Limits, QueueLimits, RuntimeConfig, engine_config
from glmtts.voices import PromptLimits


class ServeSettings(BaseSettings):
    """Everything the server needs; every field is also read from ``GLMTTS_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="GLMTTS_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 7860
    engine: str = "kokoro"
    #: Optional ``"module:Class"`` registering ``engine`` first (plugins, tests).
    engine_class: str | None = None
    engine_options: dict[str, Any] = Field(default_factory=dict)
    ckpt: Path | None = None
    device: str = "cpu"
    #: The LLM's dtype (glm); the flow and vocoder have their own.
    dtype: str = "float32"
    flow_dtype: str | None = None
    hift_dtype: str | None = None
    #: Weight-only quantization of the LLM's linear layers (glm): ``none``, ``int8`` or ``int4``.
    llm_quant: Literal["none", "int8", "int4"] = "none"
    n_threads: Annotated[int, Field(ge=1, le=256)] = 2
    workdir: Path = Path("glmtts-data")
    #: Compiled model/text caches; None: the engine's default (the user cache dir, shared by all runs).
    cache_dir: Path | None = None
    api_key: str | None = None
    #: Interactive requests held at once: waiting ones, plus (batching engines) those in the batch.
    max_queue: Annotated[int, Field(ge=1, le=100_000)] = 16
    max_batch_queue: Annotated[int, Field(ge=1, le=1_000_000)] = 256
    #: Sequences decoded together per step by a batching engine (None: the engine's default; 1: serial).
    max_batch: Annotated[int, Field(ge=1, le=1024)] | None = None
    #: Tokens one batched step may process (long prefills are split); None: the engine's default.
    batch_token_budget: Annotated[int, Field(ge=1)] | None = None
    #: KV-cache positions preallocated over all sequences; None: the engine's default.
    kv_capacity_tokens: Annotated[int, Field(ge=1)] | None = None
    request_timeout_s: Annotated[float, Field(gt=0)] = 300.0
    max_upload_bytes: Annotated[int, Field(ge=1024)] = 20 * 1024 * 1024
    min_prompt_s: Annotated[float, Field(gt=0.0, le=60.0)] = MIN_PROMPT_S
    max_prompt_s: Annotated[float, Field(gt=0.0, le=600.0)] = 30.0
    max_text_chars: Annotated[int, Field(ge=1)] = 20_000
    seed: Annotated[int, Field(ge=0, lt=2**32)] = DEFAULT_SEED
    voice_cache_size: Annotated[int, Field(ge=1)] = 64
    #: Prompt-voice features kept on disk (``<workdir>/cache/voices``) so a clip is not extracted again
    #: after a restart; 0 keeps them in memory only.
    voice_disk_cache_size: Annotated[int, Field(ge=0)] = 1000
    #: Warm-up rounds per request shape (0: only the engine's own warm-up, no HTTP warm-up).
    warmup_rounds: Annotated[int, Field(ge=0, le=10)] = 1
    #: Load on the first request instead of at start-up, like upstream servers (benchmark baseline only).
    lazy: bool = False
    drain_timeout_s: Annotated[float, Field(ge=0)] = 30.0
    ui: bool = True
    #: ``--no-ui`` / ``GLMTTS_NO_UI=1``: the same as ``ui=False``.
    no_ui: bool = False
    log_requests: bool = True

    @field_validator("api_key")
    @classmethod
    def _empty_key_means_none(cls, value: str | None) -> str | None:
        return value or None

    def engine_config(self) -> EngineConfig:
        """The engine configuration these settings describe (the dictionary base: see the README)."""
        return engine_config(
            self.engine,
            engine_class=self.engine_class,
            ckpt=self.ckpt,
            device=self.device,
            dtype=self.dtype,
            n_threads=self.n_threads,
            cache_dir=self.cache_dir,
            flow_dtype=self.flow_dtype,
            hift_dtype=self.hift_dtype,
            max_batch=self.max_batch,
            batch_token_budget=self.batch_token_budget,
            kv_capacity_tokens=self.kv_capacity_tokens,
            llm_quant=self.llm_quant if self.llm_quant != "none" else None,
            options=self.engine_options,
        )

    def limits(self) -> Limits:
        prompt = PromptLimits(
            min_s=self.min_prompt_s, max_s=self.max_prompt_s, max_bytes=self.max_upload_bytes
        )
        return Limits(max_text_chars=self.max_text_chars, prompt=prompt)

    def runtime_config(self) -> RuntimeConfig:
        return RuntimeConfig(
            defaults=Defaults(seed=self.seed),
            limits=self.limits(),
            voices_dir=self.voices_dir,
            voice_features_dir=self.workdir / "cache" / "voices" if self.voice_disk_cache_size else None,
            voice_cache_size=self.voice_cache_size,
            voice_features_max=max(1, self.voice_disk_cache_size),
            queue=QueueLimits(interactive=self.max_queue, batch=self.max_batch_queue),
            request_timeout_s=self.request_timeout_s,
            lazy=self.lazy,
            log_requests=self.log_requests,
        )

    @property
    def ui_enabled(self) -> bool:
        return self.ui and not self.no_ui

    @property
    def voices_dir(self) -> Path:
        return self.workdir / "voices"

    @property
    def pronunciations_path(self) -> Path:
        return self.workdir / "configs" / "G2P_replace_dict.jsonl"
