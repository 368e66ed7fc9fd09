"""Spies on the glm pipeline's stages (they wrap the real methods and record what passes through)."""

from __future__ import annotations

from typing import Any


class GenerateSpy:
    """Records each LLM decoding submitted to a step scheduler: (prompt text ids, text ids, prompt speech
    tokens, drawn ids minus ``ats``)."""

    def __init__(self, monkeypatch: Any, scheduler: Any) -> None:
        self.sequences: list[Any] = []
        self._ats = scheduler.lm.special.ats
        original = scheduler.submit

        def submit(*args: Any, **kwargs: Any) -> Any:
            sequence = original(*args, **kwargs)
            self.sequences.append(sequence)
            return sequence

        monkeypatch.setattr(scheduler, "submit", submit)

    @property
    def calls(self) -> list[tuple[list[int], list[int], list[int], list[int]]]:
        return [
            (seq.prompt_text, seq.text_ids, seq.prompt_speech, [t - self._ats for t in seq.history])
            for seq in self.sequences
        ]

    def tokens(self) -> list[list[int]]:
        return [call[3] for call in self.calls]

    def clear(self) -> None:
        self.sequences.clear()


def count_calls(monkeypatch: Any, target: Any, name: str) -> list[int]:
    """Wrap ``target.name`` so each call appends to the returned list."""
    calls: list[int] = []
    original = getattr(target, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, counted)
    return calls
