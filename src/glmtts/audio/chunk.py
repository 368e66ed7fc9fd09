"""The unit audio travels in, from the engine to the encoders: :class:`AudioChunk`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AudioChunk:
    """One piece of synthesized audio, mono float32 in [-1, 1].

    ``segment_index`` counts the text segments of one request; ``is_last`` marks the final chunk. Caption
    formats will read more fields of a chunk (the text it speaks, its start and end time), so encoders take
    whole chunks rather than bare samples.
    """

    samples: np.ndarray
    sample_rate: int
    segment_index: int = 0
    is_last: bool = False

    @property
    def duration_s(self) -> float:
        return float(len(self.samples)) / float(self.sample_rate)
