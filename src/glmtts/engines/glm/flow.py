"""Flow stage: speech tokens + prompt mel + speaker embedding → mel (10-step cosine Euler, CFG 0.7).

Loads ``flow/flow.pt`` with ``torch.load(weights_only=True)`` and reads ``flow/config.yaml`` as *data*:
the HyperPyYAML tags (``!new:flow.flow.Flow``) are parsed into plain mappings and nothing is imported or
constructed from them. DiT sizes come from the weights (and ``tiny_dit_override`` when present).

Usage::

    flow = FlowModel.from_dir(ckpt / "flow", device="cpu", dtype=torch.float32)
    mel = flow.inference(tokens, prompt_tokens, prompt_mel, embedding, generator=gen)  # [1, 80, T]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml

from glmtts.engines.glm.dit import DiT, DiTConfig
from glmtts.engines.glm.state_dicts import check_state_dict, read_state_dict, require_tensor
from glmtts.errors import CheckpointError, InvalidOptionError

_LOGGER = logging.getLogger(__name__)

#: Upstream hard-codes ``dim_head=64`` for the DiT.
_DIM_HEAD = 64
_PREFIX = "estimator."


class _TagAsDataLoader(yaml.SafeLoader):
    """Safe YAML loader that keeps HyperPyYAML tags (``!new:``, ``!name:``, ``!ref``…) as plain data."""


def _tag_as_data(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return {"__tag__": "!" + tag_suffix, **loader.construct_mapping(node, deep=True)}
    if isinstance(node, yaml.SequenceNode):
        return {"__tag__": "!" + tag_suffix, "args": loader.construct_sequence(node, deep=True)}
    return {"__tag__": "!" + tag_suffix, "value": loader.construct_scalar(node)}  # type: ignore[arg-type]


_TagAsDataLoader.add_multi_constructor("!", _tag_as_data)


@dataclass(frozen=True)
class FlowRow:
    """One :meth:`FlowModel.inference` input (same shapes), for :meth:`FlowModel.inference_batch`."""

    tokens: torch.Tensor
    prompt_tokens: torch.Tensor
    prompt_mel: torch.Tensor
    embedding: torch.Tensor
    noise: torch.Tensor | None = None


@dataclass(frozen=True)
class FlowConfig:
    """What the flow needs besides the DiT sizes; read from ``config.yaml``."""

    input_frame_rate: int = 25
    mel_framerate: int = 50
    mel_dim: int = 80
    speech_token_dim: int = 512
    vocab_size: int = 100000

    @classmethod
    def from_yaml(cls, path: Path) -> tuple[FlowConfig, dict[str, Any]]:
        """Parse ``config.yaml``; return the config and the raw ``tiny_dit_override`` mapping (or {})."""
        if not path.is_file():
            raise CheckpointError(f"missing flow config {path}")
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_TagAsDataLoader)
        except yaml.YAMLError as exc:
            raise CheckpointError(f"cannot parse {path}: {exc}") from exc
        flow = data.get("flow") if isinstance(data, dict) else None
        if not isinstance(flow, dict):
            raise CheckpointError(f"{path} has no `flow:` mapping")
        unsupported = [
            f"{key}={flow[key]!r}"
            for key, wanted in (
                ("spkr_emb_adaLN", True),
                ("remove_spkr_concat_condition", True),
                ("speech_token_cfg", False),
                ("t_scheduler", "cosine"),
            )
            if key in flow and flow[key] != wanted
        ]
        if unsupported:
            raise CheckpointError(f"{path}: unsupported flow settings {', '.join(unsupported)}")
        known = {name: int(flow[name]) for name in cls.__dataclass_fields__ if name in flow}
        override = data.get("tiny_dit_override") or {}
        return cls(**known), dict(override) if isinstance(override, dict) else {}

    def n_frames(self, n_tokens: int) -> int:
        """Mel frames for ``n_tokens`` tokens, computed like upstream (float64, truncated: 29 → 57)."""
        return int(n_tokens / self.input_frame_rate * self.mel_framerate)


def _dit_config(
    state: dict[str, torch.Tensor], flow: FlowConfig, override: dict[str, Any], source: Path
) -> DiTConfig:
    dim = require_tensor(state, "proj_out.weight", source, 2).shape[1]
    embed = require_tensor(state, "text_emb_layer.text_embed.weight", source, 2)
    cond_dim = require_tensor(state, "norm_out.linear.weight", source, 2).shape[1]
    ff_hidden = require_tensor(state, "transformer_blocks.0.ff.ff.0.0.weight", source, 2).shape[0]
    depth = len({key.split(".")[1] for key in state if key.startswith("transformer_blocks.")})
    n_text_blocks = len({key.split(".")[2] for key in state if key.startswith("text_emb_layer.text_blocks.")})
    heads = int(override.get("heads", dim // _DIM_HEAD))
    if embed.shape[1] != flow.speech_token_dim or embed.shape[0] != flow.vocab_size + 1:
        raise CheckpointError(
            f"{source}: text_embed {tuple(embed.shape)} does not match config.yaml "
            f"(vocab_size {flow.vocab_size}, speech_token_dim {flow.speech_token_dim})"
        )
    return DiTConfig(
        dim=dim,
        depth=depth,
        heads=heads,
        dim_head=_DIM_HEAD,
        ff_mult=ff_hidden // dim,
        mel_dim=flow.mel_dim,
        text_dim=embed.shape[1],
        vocab_size=embed.shape[0] - 1,
        n_text_blocks=n_text_blocks,
        speaker_dim=cond_dim - dim,
    )


def cosine_time_grid(n_timesteps: int) -> torch.Tensor:
    """Flow times ``1 - cos(π/2 · linspace(0, 1, n+1))`` (float32, as upstream)."""
    return 1 - torch.cos(torch.linspace(0, 1, n_timesteps + 1) * 0.5 * math.pi)


class FlowModel:
    """Loaded flow DiT on a device/dtype with upstream's sampler."""

    def __init__(self, dit: DiT, config: FlowConfig, device: torch.device, dtype: torch.dtype) -> None:
        self.dit = dit
        self.config = config
        self.device = device
        self.dtype = dtype

    @classmethod
    def from_dir(
        cls, flow_dir: Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
    ) -> FlowModel:
        """Load ``flow_dir/flow.pt`` and ``flow_dir/config.yaml``."""
        config, override = FlowConfig.from_yaml(flow_dir / "config.yaml")
        weights = flow_dir / "flow.pt"
        return cls.from_state_dict(read_state_dict(weights), config, override, weights, device, dtype)

    @classmethod
    def from_state_dict(
        cls,
        raw: dict[str, torch.Tensor],
        config: FlowConfig,
        override: dict[str, Any],
        weights: Path,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> FlowModel:
        """Build from an already read state dict (``weights`` only names the source in errors)."""
        state = {key[len(_PREFIX) :]: value for key, value in raw.items() if key.startswith(_PREFIX)}
        if len(state) != len(raw):
            extra = [key for key in raw if not key.startswith(_PREFIX)]
            raise CheckpointError(f"{weights} has keys outside `estimator.`: {', '.join(extra[:8])}")
        dit_config = _dit_config(state, config, override, weights)
        with torch.device("meta"):
            dit = DiT(dit_config)
        expected = {key: tuple(value.shape) for key, value in dit.state_dict().items()}
        check_state_dict({_PREFIX + k: v for k, v in expected.items()}, raw, weights)
        dit.load_state_dict(state, strict=True, assign=True)
        inv_freq = dit.rotary_embed.inv_freq.float()
        dit = dit.to(device=torch.device(device), dtype=dtype).eval()
        dit.rotary_embed.inv_freq = inv_freq.to(torch.device(device))  # rotary frequencies stay float32
        _LOGGER.info("loaded flow DiT from %s (%s, %s)", weights, dit_config, dtype)
        return cls(dit, config, torch.device(device), dtype)

    def n_frames(self, n_tokens: int) -> int:
        """Mel frames the flow produces for ``n_tokens`` tokens (prompt included)."""
        return self.config.n_frames(n_tokens)

    def draw_noise(self, n_frames: int, generator: torch.Generator | None) -> torch.Tensor:
        """Initial noise ``[1, n_frames, mel_dim]`` drawn like upstream's ``randn_like``."""
        gen_device = generator.device if generator is not None else torch.device("cpu")
        return torch.randn(1, n_frames, self.config.mel_dim, generator=generator, device=gen_device)

    def _condition(
        self, prompt_mel: torch.Tensor, embedding: torch.Tensor, n_frames: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        cond = torch.zeros(1, n_frames, self.config.mel_dim, device=self.device)
        n_prompt = min(prompt_mel.shape[1], n_frames)
        if n_prompt:
            cond[:, :n_prompt] = prompt_mel[:, prompt_mel.shape[1] - n_prompt :].to(
                self.device, torch.float32
            )
        speaker = F.normalize(embedding.to(self.device, torch.float32), dim=1)
        return cond, speaker

    @torch.inference_mode()
    def inference(
        self,
        tokens: torch.Tensor,
        prompt_tokens: torch.Tensor,
        prompt_mel: torch.Tensor,
        embedding: torch.Tensor,
        n_timesteps: int = 10,
        cfg_rate: float = 0.7,
        noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        on_step: Callable[[int, torch.Tensor], None] | None = None,
    ) -> torch.Tensor:
        """Generate the mel of ``tokens`` continuing the prompt.

        Args:
            tokens: ``[1, Tn]`` speech token ids (0-based audio codes).
            prompt_tokens: ``[1, Tp]`` the prompt's speech tokens (may be empty).
            prompt_mel: ``[1, Fp, 80]`` the prompt's mel (:class:`MelExtractor` output).
            embedding: ``[1, 192]`` speaker embedding (normalised here).
            n_timesteps: Euler steps; each costs two DiT passes (conditional and unconditional).
            cfg_rate: classifier-free guidance weight ``w``: ``v = (1+w)·v_cond − w·v_uncond``.
            noise: initial noise ``[1, N, 80]`` with ``N = n_frames(Tp + Tn)``; drawn from
                ``generator`` when omitted.
            on_step: optional callback ``(step, x)`` with the state at the start of each step (1-based).

        Returns:
            ``[1, 80, N - Fp]`` float32 mel of the new tokens only.
        """
        if n_timesteps < 1:
            raise InvalidOptionError("n_timesteps must be at least 1")
        x, cond, speaker, all_tokens = self._prepare(
            FlowRow(tokens, prompt_tokens, prompt_mel, embedding, noise), generator
        )
        features = self.dit.embed_tokens(all_tokens, x.shape[1])
        x = self._solve(x, cond, speaker, features, n_timesteps, cfg_rate, on_step)
        return x[:, prompt_mel.shape[1] :].transpose(1, 2).contiguous()

    @torch.inference_mode()
    def inference_batch(
        self,
        rows: Sequence[FlowRow],
        n_timesteps: int = 10,
        cfg_rate: float = 0.7,
        generators: Sequence[torch.Generator | None] | None = None,
    ) -> list[torch.Tensor]:
        """:meth:`inference` for several rows in one batched DiT call per pass, padded and masked.

        Each row's noise is drawn (when not given) from its own generator in row order, its token features
        are embedded alone, and its frames are padded at the end to the longest row; the DiT masks the
        padding (:meth:`DiT.forward`'s ``frame_mask``). Each output equals that row's :meth:`inference`
        within float rounding (the batched GEMMs round differently); one row takes :meth:`inference`
        itself, so a batch of one is bit-identical to it.

        Returns:
            One ``[1, 80, N_i - Fp_i]`` float32 mel per row, in order.
        """
        gens = list(generators) if generators is not None else [None] * len(rows)
        if not rows or len(gens) != len(rows):
            raise InvalidOptionError("inference_batch needs one generator (or None) per row, and rows")
        if len(rows) == 1:
            row = rows[0]
            return [
                self.inference(
                    row.tokens,
                    row.prompt_tokens,
                    row.prompt_mel,
                    row.embedding,
                    n_timesteps,
                    cfg_rate,
                    row.noise,
                    gens[0],
                )
            ]
        if n_timesteps < 1:
            raise InvalidOptionError("n_timesteps must be at least 1")
        prepared = [self._prepare(row, gen) for row, gen in zip(rows, gens, strict=True)]
        lengths = [x.shape[1] for x, _, _, _ in prepared]
        n_max = max(lengths)

        def pad(tensor: torch.Tensor) -> torch.Tensor:
            return F.pad(tensor, (0, 0, 0, n_max - tensor.shape[1]))

        features = torch.cat([pad(self.dit.embed_tokens(tok, x.shape[1])) for x, _, _, tok in prepared])
        x = torch.cat([pad(x) for x, _, _, _ in prepared])
        cond = torch.cat([pad(c) for _, c, _, _ in prepared])
        speaker = torch.cat([spk for _, _, spk, _ in prepared])
        frame_mask = (
            torch.arange(n_max, device=self.device)[None] < torch.tensor(lengths, device=self.device)[:, None]
        )
        x = self._solve(x, cond, speaker, features, n_timesteps, cfg_rate, None, frame_mask)
        return [
            x[i : i + 1, row.prompt_mel.shape[1] : lengths[i]].transpose(1, 2).contiguous()
            for i, row in enumerate(rows)
        ]

    def _prepare(
        self, row: FlowRow, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Validate one row; return its noise ``x``, conditioning mel, speaker vector and all token ids."""
        tokens = row.tokens
        if tokens.dim() != 2 or tokens.shape[0] != 1 or tokens.shape[1] == 0:
            raise InvalidOptionError(f"flow tokens must be [1, T>0], got {tuple(tokens.shape)}")
        all_tokens = torch.cat(
            [row.prompt_tokens.to(self.device).long(), tokens.to(self.device).long()], dim=1
        )
        n_frames = self.n_frames(all_tokens.shape[1])
        cond, speaker = self._condition(row.prompt_mel, row.embedding, n_frames)
        noise = self.draw_noise(n_frames, generator) if row.noise is None else row.noise
        if tuple(noise.shape) != (1, n_frames, self.config.mel_dim):
            raise InvalidOptionError(
                f"flow noise must be [1, {n_frames}, {self.config.mel_dim}], got {tuple(noise.shape)}"
            )
        return noise.to(self.device, torch.float32), cond, speaker, all_tokens

    def _solve(
        self,
        x: torch.Tensor,
        cond: torch.Tensor,
        speaker: torch.Tensor,
        features: torch.Tensor,
        n_timesteps: int,
        cfg_rate: float,
        on_step: Callable[[int, torch.Tensor], None] | None,
        frame_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Euler integration with classifier-free guidance over ``[B, N, 80]`` rows.

        The conditional and unconditional passes run separately (not as a batch of 2): that reproduces
        upstream's numbers bit for bit on the CPU, while batching drifts by ~1e-6. ``frame_mask`` marks
        the real frames of padded rows (see :meth:`DiT.forward`).
        """
        dtype = self.dtype
        cond, speaker = cond.to(dtype), speaker.to(dtype)
        no_cond, no_speaker = torch.zeros_like(cond), torch.zeros_like(speaker)
        t_span = cosine_time_grid(n_timesteps).to(self.device)
        t, dt = t_span[0], t_span[1] - t_span[0]
        for step in range(1, n_timesteps + 1):
            if on_step is not None:
                on_step(step, x)
            x_in, time = x.to(dtype), t.expand(x.shape[0])
            v_cond = self.dit(x_in, cond, features, time, speaker, frame_mask).float()
            v_uncond = self.dit(x_in, no_cond, features, time, no_speaker, frame_mask).float()
            x = x + dt * ((1.0 + cfg_rate) * v_cond - cfg_rate * v_uncond)
            t = t + dt
            if step < n_timesteps:
                dt = t_span[step + 1] - t
        return x
