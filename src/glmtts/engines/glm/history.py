"""Prompt history of one request (upstream's ``use_cache`` / ``get_cached_prompt``).

The LLM prompt of segment ``k`` is the voice's prompt text and speech tokens followed by the text ids and
speech tokens of the segments generated before it. Before each segment after the first, upstream prunes
this history with a length estimate computed **once**:

* ``ratio = Σ speech tokens / Σ text ids`` over every entry, the voice prompt included;
* ``estimate = int(ratio · len(new segment's text ids))`` (floored);
* while ``Σ speech tokens + estimate > max_speech_tokens`` (750 ≈ 30 s), the oldest generated entry is
  dropped for good; the voice prompt itself is never dropped.

The flow never sees this history: it always conditions on the voice's own prompt.

Usage::

    history = PromptHistory(voice.prompt_text_ids.tolist(), voice.speech_tokens.tolist())
    prompt_text, prompt_speech = history.prompt(len(text_ids))
    ...
    history.append(text_ids, tokens)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

#: Upstream's ``MAX_LLM_SEQ_INP_LEN``: speech tokens (prompt + history + estimate) an LLM prompt may hold.
MAX_PROMPT_SPEECH_TOKENS = 750


@dataclass
class PromptHistory:
    """The voice prompt and the (text ids, speech tokens) of the segments generated so far."""

    prompt_text: list[int]
    prompt_speech: list[int]
    max_speech_tokens: int = MAX_PROMPT_SPEECH_TOKENS
    entries: list[tuple[list[int], list[int]]] = field(default_factory=list)

    def n_speech_tokens(self) -> int:
        return len(self.prompt_speech) + sum(len(speech) for _, speech in self.entries)

    def n_text_ids(self) -> int:
        return len(self.prompt_text) + sum(len(text) for text, _ in self.entries)

    def estimate(self, n_new_text: int) -> int:
        """Upstream's estimate of the new segment's speech tokens: ``int(Σ speech / Σ text · n_new_text)``."""
        n_text = self.n_text_ids()
        return int(self.n_speech_tokens() / (n_text if n_text > 0 else 1.0) * n_new_text)

    def prompt(self, n_new_text: int) -> tuple[list[int], list[int]]:
        """Prompt text ids and speech tokens for a segment of ``n_new_text`` ids, pruning the history first."""
        if self.entries:
            estimate = self.estimate(n_new_text)
            while self.entries and self.n_speech_tokens() + estimate > self.max_speech_tokens:
                self.entries.pop(0)
        text = self.prompt_text + [token for entry, _ in self.entries for token in entry]
        speech = self.prompt_speech + [token for _, entry in self.entries for token in entry]
        return text, speech

    def append(self, text_ids: Sequence[int], speech_tokens: Sequence[int]) -> None:
        """Record a generated segment."""
        self.entries.append((list(text_ids), list(speech_tokens)))
