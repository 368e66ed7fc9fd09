"""Spies on the glm pipeline's stages (they wrap the real methods and record what passes through)."""

from __future__ import annotations

from typing import Any


class GenerateSpy:
    """Records each LLM call: (prompt text ids, text ids, prompt speech tokens, drawn ids)."""

    def __init__(self, monkeypatch: Any, lm: Any) -> None:
        self.calls: list[tuple[list[int], list[int], list[int], list[int]]] = []
        original = lm.generate

        def generate(prompt_text, text_ids, prompt_speech, *args, **kwargs):
            self.calls.append((list(prompt_text), list(text_ids), list(prompt_speech), []))
            for token in original(prompt_text, text_ids, prompt_speech, *args, **kwargs):
                self.calls[-1][3].append(token)
                yield token

        monkeypatch.setattr(lm, "generate", generate)

    def tokens(self) -> list[list[int]]:
        return [call[3] for call in self.calls]


def count_calls(monkeypatch: Any, target: Any, name: str) -> list[int]:
    """Wrap ``target.name`` so each call appends to the returned list."""
    calls: list[int] = []
    original = getattr(target, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, counted)
    return calls
