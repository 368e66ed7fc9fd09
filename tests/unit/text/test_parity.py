"""Agreement with the official GLM-TTS frontend on its recorded outputs.

Every field the official ``generate_long`` produces is compared: ``text_normalize``, ``split_by_len``, each piece
normalized again, and phoneme mode. Every difference counts, the override table's (glmtts.text.overrides)
included. The rates are asserted and each remaining difference is printed (run with ``-s``). The case
directory comes from ``$GLMTTS_REF_CASES`` (see conftest), so the same test measures other recordings.
"""

from __future__ import annotations

from typing import Any

from glmtts.text import TextFrontend

NORMALIZATION_TARGET = 0.97
PHONEME_TARGET = 0.95


def _measure(frontend: TextFrontend, cases: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Ids of the cases that differ, per field, with the differences printed."""
    differences: dict[str, list[str]] = {"normalize": [], "split": [], "pieces": [], "phoneme": []}
    for case in cases:
        result = frontend.analyze(case["input"], phoneme=True)
        fields = {
            "normalize": (case["text_normalize"], result.normalized),
            "split": (case["split_by_len_of_normalized"], frontend.split(result.normalized)),
            "pieces": (case["pieces_text_normalize"], [s.text for s in result.segments]),
            "phoneme": (case["pieces_g2p_infer"], [s.phonemes for s in result.segments]),
        }
        for field, (official, ours) in fields.items():
            if official != ours:
                differences[field].append(case["id"])
                print(
                    f"\n{case['id']} {field}: {case['input']!r}\n  official: {official!r}\n  ours:     {ours!r}"
                )
    return differences


def _report(name: str, differences: dict[str, list[str]], total: int) -> dict[str, float]:
    rates = {field: 1 - len(ids) / total for field, ids in differences.items()}
    print(
        f"\n{name}: "
        + ", ".join(f"{f} {total - len(ids)}/{total} = {rates[f]:.1%}" for f, ids in differences.items())
    )
    return rates


def test_agreement_with_the_official_frontend(
    frontend: TextFrontend, reference_cases: list[dict[str, Any]]
) -> None:
    rates = _report("reference cases", _measure(frontend, reference_cases), len(reference_cases))
    assert rates["normalize"] >= NORMALIZATION_TARGET
    assert rates["pieces"] >= NORMALIZATION_TARGET
    assert rates["phoneme"] >= PHONEME_TARGET


def test_agreement_on_sentences_made_for_glmtts(
    frontend: TextFrontend, harness_cases: list[dict[str, Any]]
) -> None:
    rates = _report("harness cases", _measure(frontend, harness_cases), len(harness_cases))
    assert rates["normalize"] >= NORMALIZATION_TARGET
    assert rates["phoneme"] >= PHONEME_TARGET


def test_without_overrides_normalization_is_the_official_one(
    official_frontend: TextFrontend,
    reference_cases: list[dict[str, Any]],
    harness_cases: list[dict[str, Any]],
) -> None:
    """The grammars and wrapper rules alone reproduce upstream exactly (phoneme mode may still differ through
    the pypinyin version)."""
    for case in [*reference_cases, *harness_cases]:
        result = official_frontend.analyze(case["input"])
        assert result.normalized == case["text_normalize"], case["id"]
        assert official_frontend.split(result.normalized) == case["split_by_len_of_normalized"], case["id"]
        assert [s.text for s in result.segments] == case["pieces_text_normalize"], case["id"]
