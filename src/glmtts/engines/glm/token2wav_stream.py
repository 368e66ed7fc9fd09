"""Block-wise token → audio synthesis for streaming, with the frame constants of this model.

Tokens arrive at 25 Hz; the flow makes 2 mel frames per token (50 fps) and HiFT makes 480 samples per
frame (24 kHz). Tokens are cut into blocks on a fixed schedule (default 25, 50, 100, then 200 tokens),
so the audio depends only on the tokens and the generator, never on how the caller sized its ``push``
calls.

Per block:

1. **Flow.** The block's tokens plus up to ``lookahead_tokens`` following tokens are generated with the
   original prompt *extended by* the last ``context_tokens`` already-final tokens and their mel as extra
   prompt. Only the block's own ``2 × tokens`` frames are kept; they are final. The cost per block is
   bounded (no re-synthesis of the whole utterance, unlike upstream's ``token2wav_stream``).
2. **Vocoder.** HiFT runs on the new frames with ``vocoder_context_frames`` previous frames in front. The
   harmonic source's phase is anchored to the previous call's phase in that context, so the sines run on
   without a jump. The last ``crossfade_frames`` of each call are held back and linearly cross-faded with
   the next call's audio for the same frames.

Emitted audio is never revised. ``finish()`` flushes the rest. With :meth:`StreamSchedule.single_block`
a drained stream equals :meth:`Token2Wav.token2wav` sample for sample. With the block schedule the audio
is *not* the one-shot output (each block sees only 8 tokens of right context, draws its own flow noise,
and is vocoded separately, cross-faded over 5 frames): it serves streamed requests, where the first audio
matters more; non-streamed output comes from :meth:`Token2Wav.token2wav`.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from glmtts.errors import InvalidOptionError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from glmtts.engines.glm.token2wav import Token2Wav

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamSchedule:
    """Block sizes and overlaps of a :class:`Token2WavStream` (all in tokens or mel frames).

    Attributes:
        block_tokens: tokens per block; the last entry repeats (25 tokens = 1 s of audio). Every block
            re-reads the prompt, so later blocks are larger to keep the total cost near one-shot's.
        lookahead_tokens: future tokens the flow sees beyond a block (they delay that block).
        context_tokens: final tokens (and their mel) prepended to the prompt for the next block.
        vocoder_context_frames: previous mel frames fed to HiFT in front of new frames.
        crossfade_frames: frames held back per vocoder call and cross-faded with the next call.
    """

    block_tokens: tuple[int, ...] = (25, 50, 100, 200)
    lookahead_tokens: int = 8
    context_tokens: int = 50
    vocoder_context_frames: int = 16
    crossfade_frames: int = 5

    def __post_init__(self) -> None:
        if not self.block_tokens or min(self.block_tokens) < 1:
            raise InvalidOptionError("block_tokens must hold positive sizes")
        if min(self.lookahead_tokens, self.context_tokens, self.crossfade_frames) < 0:
            raise InvalidOptionError("lookahead, context and cross-fade lengths must be >= 0")
        if self.crossfade_frames > self.vocoder_context_frames:
            raise InvalidOptionError("crossfade_frames must not exceed vocoder_context_frames")

    def block_size(self, index: int) -> int:
        """Tokens in block ``index`` (0-based)."""
        return self.block_tokens[min(index, len(self.block_tokens) - 1)]

    @classmethod
    def single_block(cls) -> StreamSchedule:
        """Everything in one block at ``finish()``: the drained stream equals one-shot ``token2wav``."""
        return cls(block_tokens=(sys.maxsize,), lookahead_tokens=0, context_tokens=0)


class Token2WavStream:
    """Incremental synthesis; build it with :meth:`Token2Wav.stream`.

    ``push(tokens)`` returns the audio that became final (1-D float32 CPU tensor, possibly empty);
    ``finish()`` returns the rest. Concatenating every returned chunk gives the whole utterance.
    """

    def __init__(
        self,
        token2wav: Token2Wav,
        prompt_tokens: torch.Tensor,
        prompt_mel: torch.Tensor,
        speaker: torch.Tensor,
        generator: torch.Generator | None,
        schedule: StreamSchedule,
    ) -> None:
        self._t2w = token2wav
        self._prompt_tokens = prompt_tokens
        # A prompt mel of floor(50·d) frames ends 1–2 frames short of its ceil(25·d) tokens. The flow then
        # generates those frames in front of the first block (kept, as upstream's one-shot output has them)
        # and in front of every later block (dropped: already emitted). A prompt mel longer than two
        # frames per token is cut to that, so blocks stay on the token grid.
        self._prompt_mel = prompt_mel[:, : 2 * prompt_tokens.shape[1]]
        self._lead_frames = 2 * prompt_tokens.shape[1] - self._prompt_mel.shape[1]
        self._speaker = speaker
        self._generator = generator
        self.schedule = schedule
        self._pending: list[int] = []
        self._final_tokens: list[int] = []
        self._final_mel = prompt_mel.new_zeros(1, 0, prompt_mel.shape[2])
        self._n_blocks = 0
        self._vocoder_mel = prompt_mel.new_zeros(1, prompt_mel.shape[2], 0)
        self._vocoder_phase: torch.Tensor | None = None
        self._held = torch.zeros(0)
        self._finished = False
        self.n_emitted_samples = 0

    @property
    def n_blocks(self) -> int:
        """Blocks synthesized so far."""
        return self._n_blocks

    def push(self, tokens: Sequence[int] | torch.Tensor) -> torch.Tensor:
        """Add decoded tokens; return newly final audio (empty until a whole block plus lookahead is in)."""
        if self._finished:
            raise InvalidOptionError("push() after finish()")
        self._pending.extend(self._valid_ids(tokens))
        chunks = []
        lookahead = self.schedule.lookahead_tokens
        while len(self._pending) >= self.schedule.block_size(self._n_blocks) + lookahead:
            size = self.schedule.block_size(self._n_blocks)
            chunks.append(self._vocode(self._flow_block(size, lookahead, final=False)))
        return self._emit(chunks)

    def finish(self) -> torch.Tensor:
        """Synthesize the remaining tokens and return all audio not yet emitted."""
        if self._finished:
            return torch.zeros(0)
        chunks = []
        while self._pending:
            size = min(self.schedule.block_size(self._n_blocks), len(self._pending))
            lookahead = min(self.schedule.lookahead_tokens, len(self._pending) - size)
            chunks.append(self._vocode(self._flow_block(size, lookahead, final=size == len(self._pending))))
        chunks.append(self._held)
        self._held = torch.zeros(0)
        self._finished = True
        return self._emit(chunks)

    def _emit(self, chunks: list[torch.Tensor]) -> torch.Tensor:
        audio = torch.cat(chunks) if chunks else torch.zeros(0)
        self.n_emitted_samples += audio.numel()
        return audio

    def _valid_ids(self, tokens: Sequence[int] | torch.Tensor) -> list[int]:
        ids = [int(t) for t in (tokens.reshape(-1).tolist() if isinstance(tokens, torch.Tensor) else tokens)]
        vocab = self._t2w.vocab_size
        valid = [t for t in ids if 0 <= t < vocab]
        if len(valid) != len(ids):
            _LOGGER.warning("dropped %d speech token(s) outside [0, %d)", len(ids) - len(valid), vocab)
        return valid

    def _flow_block(self, size: int, lookahead: int, final: bool) -> torch.Tensor:
        """Mel ``[1, 80, n]`` of the next ``size`` pending tokens (final frames only)."""
        n_context = min(self.schedule.context_tokens, len(self._final_tokens), self._final_mel.shape[1] // 2)
        device = self._prompt_tokens.device
        context_ids = torch.tensor([self._final_tokens[len(self._final_tokens) - n_context :]], device=device)
        prompt_tokens = torch.cat([self._prompt_tokens, context_ids.long()], dim=1)
        context_mel = self._final_mel[:, self._final_mel.shape[1] - 2 * n_context :]
        prompt_mel = torch.cat([self._prompt_mel, context_mel], dim=1)
        block = torch.tensor([self._pending[: size + lookahead]], device=device)
        mel = self._t2w.flow.inference(
            block, prompt_tokens, prompt_mel, self._speaker, generator=self._generator
        )
        lead, body = mel[:, :, : self._lead_frames], mel[:, :, self._lead_frames :]
        body = body if final else body[:, :, : 2 * size]
        self._final_tokens = (self._final_tokens + self._pending[:size])[
            -max(self.schedule.context_tokens, 1) :
        ]
        history = max(2 * self.schedule.context_tokens, 1)
        self._final_mel = torch.cat([self._final_mel, body.transpose(1, 2)], dim=1)[:, -history:]
        del self._pending[:size]
        if self._n_blocks == 0:
            body = torch.cat([lead, body], dim=2)
        self._n_blocks += 1
        _LOGGER.debug(
            "flow block %d: %d tokens (+%d ahead, %d context) -> %d frames",
            self._n_blocks,
            size,
            lookahead,
            n_context,
            body.shape[2],
        )
        return body

    def _vocode(self, mel: torch.Tensor) -> torch.Tensor:
        """Vocode new frames behind the context; return audio that is now final (CPU float32)."""
        if mel.shape[2] == 0:
            return torch.zeros(0)
        vocoder = self._t2w.vocoder
        per_frame = vocoder.samples_per_frame
        n_context = self._vocoder_mel.shape[2]
        anchor = None
        if self._vocoder_phase is not None and n_context > 1:
            anchor = (n_context // 2, self._vocoder_phase[:, n_context // 2])
        mel_in = torch.cat([self._vocoder_mel, mel.to(self._vocoder_mel.dtype)], dim=2)
        output = vocoder.vocode(mel_in, generator=self._generator, phase_anchor=anchor)
        wave = output.wave[0].float().cpu()
        keep_frames = self.schedule.vocoder_context_frames
        self._vocoder_mel = mel_in[:, :, max(mel_in.shape[2] - keep_frames, 0) :]
        self._vocoder_phase = output.frame_phase[:, max(mel_in.shape[2] - keep_frames, 0) :]
        start = n_context * per_frame
        n_held = self._held.numel()
        if n_held:
            ramp = (torch.arange(n_held, dtype=torch.float32) + 0.5) / n_held
            faded = self._held * (1 - ramp) + wave[start - n_held : start] * ramp
            combined = torch.cat([faded, wave[start:]])
        else:
            combined = wave[start:]
        n_hold = min(self.schedule.crossfade_frames * per_frame, wave.numel() - start)
        self._held = combined[combined.numel() - n_hold :].clone()
        return combined[: combined.numel() - n_hold]
