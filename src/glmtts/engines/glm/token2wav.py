"""Speech tokens → 24 kHz waveform: the flow DiT followed by the HiFT vocoder.

:meth:`Token2Wav.token2wav` is upstream's one-shot ``token2wav_with_cache`` (same random draws in the same
order, so a generator seeded like upstream's ``set_seed`` reproduces its audio); it makes every
non-streamed output. :meth:`Token2Wav.stream` returns a
:class:`~glmtts.engines.glm.token2wav_stream.Token2WavStream` that turns tokens into audio block by block
while the LLM is still decoding (streamed requests only). A stream built with
``StreamSchedule.single_block()`` and drained gives exactly :meth:`token2wav`'s samples.

Usage::

    t2w = Token2Wav.from_checkpoint(Path("ckpt"), device="cpu", dtype=torch.float32)
    wave = t2w.token2wav(tokens, prompt_tokens, prompt_mel, embedding, generator=gen)  # [T_wav]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from glmtts.engines.glm.flow import FlowModel
from glmtts.engines.glm.hift import HiFTVocoder
from glmtts.engines.glm.hift_source import HiFTNoise
from glmtts.engines.glm.token2wav_stream import StreamSchedule, Token2WavStream
from glmtts.errors import InvalidOptionError

_LOGGER = logging.getLogger(__name__)

TokenInput = Sequence[int] | torch.Tensor


@dataclass
class Token2WavNoise:
    """Every random tensor of one :meth:`Token2Wav.token2wav` call: flow ``x0`` then the HiFT draws."""

    flow: torch.Tensor
    vocoder: HiFTNoise


def token_tensor(tokens: TokenInput, vocab_size: int, device: torch.device, what: str) -> torch.Tensor:
    """Validate ``tokens`` (list, ``[T]`` or ``[1, T]``) and return them as int64 ``[1, T]``.

    Raises:
        InvalidOptionError: wrong shape, or ids outside ``[0, vocab_size)``.
    """
    tensor = torch.as_tensor(
        tokens if not isinstance(tokens, torch.Tensor) else tokens.detach(), dtype=torch.long
    )
    if tensor.dim() == 1:
        tensor = tensor[None]
    if tensor.dim() != 2 or tensor.shape[0] != 1:
        raise InvalidOptionError(
            f"{what} must be a list, [T] or [1, T] tensor, got shape {tuple(tensor.shape)}"
        )
    if tensor.numel() and (int(tensor.min()) < 0 or int(tensor.max()) >= vocab_size):
        raise InvalidOptionError(
            f"{what} ids must be in [0, {vocab_size}); got range [{int(tensor.min())}, {int(tensor.max())}]"
        )
    return tensor.to(device)


class Token2Wav:
    """Flow + 24 kHz HiFT on one device/dtype."""

    def __init__(self, flow: FlowModel, vocoder: HiFTVocoder) -> None:
        self.flow = flow
        self.vocoder = vocoder

    @property
    def sample_rate(self) -> int:
        return self.vocoder.sample_rate

    @property
    def samples_per_frame(self) -> int:
        return self.vocoder.samples_per_frame

    @property
    def vocab_size(self) -> int:
        return self.flow.dit.config.vocab_size

    @classmethod
    def from_checkpoint(
        cls,
        ckpt_dir: Path,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        vocoder_dtype: torch.dtype | None = None,
    ) -> Token2Wav:
        """Load ``ckpt_dir/flow/{flow.pt,config.yaml}`` in ``dtype`` and ``ckpt_dir/hift/hift.pt`` in
        ``vocoder_dtype`` (default: ``dtype``)."""
        flow = FlowModel.from_dir(Path(ckpt_dir) / "flow", device=device, dtype=dtype)
        hift_path = Path(ckpt_dir) / "hift" / "hift.pt"
        vocoder = HiFTVocoder.from_file(hift_path, device=device, dtype=vocoder_dtype or dtype)
        return cls(flow, vocoder)

    def prepare_prompt(
        self, prompt_tokens: TokenInput, prompt_mel: torch.Tensor, embedding: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Validate and normalise the prompt: ``[1, Tp]`` ids, ``[1, Fp, 80]`` mel, ``[1, D]`` embedding."""
        device = self.flow.device
        tokens = token_tensor(prompt_tokens, self.vocab_size, device, "prompt tokens")
        mel = prompt_mel if prompt_mel.dim() == 3 else prompt_mel[None]
        if mel.dim() != 3 or mel.shape[0] != 1 or mel.shape[2] != self.flow.config.mel_dim:
            raise InvalidOptionError(
                f"prompt mel must be [1, T, {self.flow.config.mel_dim}], got {tuple(prompt_mel.shape)}"
            )
        vector = embedding.reshape(1, -1)
        if vector.shape[1] != self.flow.dit.config.speaker_dim:
            raise InvalidOptionError(
                f"speaker embedding must have {self.flow.dit.config.speaker_dim} values, got {vector.shape[1]}"
            )
        return tokens, mel.to(device, torch.float32), vector.to(device, torch.float32)

    def token2wav(
        self,
        tokens: TokenInput,
        prompt_tokens: TokenInput,
        prompt_mel: torch.Tensor,
        embedding: torch.Tensor,
        generator: torch.Generator | None = None,
        noise: Token2WavNoise | None = None,
    ) -> torch.Tensor:
        """Synthesize ``tokens`` in the prompt's voice in one pass.

        Args:
            tokens: speech token ids (list, ``[T]`` or ``[1, T]``), 0-based audio codes.
            prompt_tokens: the prompt's speech tokens.
            prompt_mel: ``[1, Fp, 80]`` prompt mel from :class:`~glmtts.engines.glm.mel.MelExtractor`.
            embedding: ``[1, 192]`` speaker embedding.
            generator: source of the random draws when ``noise`` is not given (``None``: torch's global RNG).
            noise: explicit random tensors (for parity checks).

        Returns:
            Float32 waveform ``[T_wav]`` on the CPU, ``T_wav = 480 × (n_frames(Tp + T) − Fp)``.
        """
        new = token_tensor(tokens, self.vocab_size, self.flow.device, "tokens")
        prompt, mel_prompt, speaker = self.prepare_prompt(prompt_tokens, prompt_mel, embedding)
        mel = self.flow.inference(
            new, prompt, mel_prompt, speaker, noise=None if noise is None else noise.flow, generator=generator
        )
        if mel.shape[2] == 0:
            return torch.zeros(0)
        wave = self.vocoder(mel, noise=None if noise is None else noise.vocoder, generator=generator)
        return wave[0].cpu()

    def stream(
        self,
        prompt_tokens: TokenInput,
        prompt_mel: torch.Tensor,
        embedding: torch.Tensor,
        generator: torch.Generator | None = None,
        schedule: StreamSchedule | None = None,
    ) -> Token2WavStream:
        """Start a block-wise synthesis; feed tokens with ``push`` and end with ``finish``."""
        prompt, mel_prompt, speaker = self.prepare_prompt(prompt_tokens, prompt_mel, embedding)
        return Token2WavStream(self, prompt, mel_prompt, speaker, generator, schedule or StreamSchedule())
