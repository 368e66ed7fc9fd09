"""Prompt history pruning with upstream's estimate: ratio computed once over all entries, then floored."""

from __future__ import annotations

from glmtts.engines.glm.history import PromptHistory


def _history(prompt: tuple[int, int], *entries: tuple[int, int]) -> PromptHistory:
    """A history whose prompt and entries have the given (speech tokens, text ids) counts."""
    history = PromptHistory(prompt_text=[1] * prompt[1], prompt_speech=[0] * prompt[0])
    for number, (n_speech, n_text) in enumerate(entries, start=1):
        history.append([100 + number] * n_text, [number] * n_speech)
    return history


def test_review_example_d10_keeps_the_second_entry() -> None:
    # Prompt 250 speech / 10 text, e1 200 / 40, e2 250 / 10, new segment of 15 text ids. Upstream:
    # ratio 700/60, estimate int(175.0) = 175; 700 + 175 > 750 pops e1; 500 + 175 <= 750 keeps e2
    # (recomputing the ratio after the pop would give 375 and drop e2 as well).
    history = _history((250, 10), (200, 40), (250, 10))
    assert history.estimate(15) == 175
    text, speech = history.prompt(15)
    assert len(speech) == 500 and set(speech[250:]) == {2}
    assert len(text) == 20 and set(text[10:]) == {102}
    assert [entry[1][0] for entry in history.entries] == [2]  # the pop is permanent


def test_estimate_is_floored_before_the_comparison() -> None:
    # 563 speech / 3 text: the estimate for 1 new id is 187.67, floored to 187; 563 + 187 = 750 fits.
    history = _history((500, 2), (63, 1))
    assert history.estimate(1) == 187
    _, speech = history.prompt(1)
    assert len(speech) == 563


def test_several_entries_go_in_one_call_and_the_voice_prompt_never_does() -> None:
    history = _history((700, 10), (100, 5), (100, 5), (100, 5))
    text, speech = history.prompt(10)
    assert history.entries == [] and len(speech) == 700 and len(text) == 10
    assert history.prompt(10) == (text, speech)  # nothing left to drop; upstream then just goes on


def test_without_entries_the_prompt_is_the_voice_prompt() -> None:
    history = _history((900, 10))
    assert history.prompt(50) == ([1] * 10, [0] * 900)


def test_matches_the_recorded_lengths_of_upstreams_e2e_run() -> None:
    # Recorded by upstream's generate_long ("ras" run of cases/dev/e2e): 60/520 prompt, segments of
    # 12/40, 14/76 and 16 text ids; segment 3's prompt had 74 text ids and 596 speech tokens.
    history = _history((520, 60))
    assert tuple(map(len, history.prompt(12))) == (60, 520)
    history.append([7] * 12, [7] * 40)
    assert tuple(map(len, history.prompt(14))) == (72, 560)
    history.append([8] * 14, [8] * 76)
    assert tuple(map(len, history.prompt(16))) == (74, 596)
