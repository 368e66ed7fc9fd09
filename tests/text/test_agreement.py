"""Agreement with upstream GLM-TTS's frontend on the reference sentences (tests/data/glmtts-ref).

Every difference from upstream is deliberate and listed here with the reason; any other mismatch fails.
The exact-match rates are printed (run with ``-s``) and kept from regressing below the current figures.
"""

from __future__ import annotations

from typing import Any

from glmtts.text import TextFrontend

# id -> why our reading is better than upstream's (normalization, hence splitting and phoneme text too).
NORMALIZATION_DIFFERENCES = {
    "dev-00": "-3℃ is 零下三摄氏度; upstream drops the minus sign and says three degrees above zero",
    "dev-02": "400-820-8820 is a phone number read digit by digit; upstream reads 减 (minus) and 八千八百二十",
    "dev-27": "$25.99 is twenty five dollars and ninety nine cents, not twenty five point nine nine dollars",
}

# id -> why our phoneme text differs although the normalized text is the same.
PHONEME_DIFFERENCES = {
    "dev-03": "行长 is háng zhǎng (bank president); upstream reads xíng",
    "dev-04": "很长 is cháng (long); upstream reads zhǎng",
    "dev-12": "赢得 is yíng dé; upstream reads the particle de5",
    "dev-18": "最长/全长 is cháng; upstream reads zhǎng",
    "dev-22": "约为 is wéi (equals about); upstream reads wèi",
    "dev-33": "这一行 (this trade) is háng; upstream reads xíng",
    "dev-34": "银行行长 is yín háng háng zhǎng and 还款 is huán kuǎn; upstream reads xíng xíng and hái",
}


def _rate(matches: int, total: int) -> str:
    return f"{matches}/{total} = {matches / total:.0%}"


def test_normalization_agrees_with_upstream_except_listed(
    frontend: TextFrontend, reference_cases: list[dict[str, Any]]
) -> None:
    mismatches = {
        case["id"]: frontend.normalize(case["input"])
        for case in reference_cases
        if frontend.normalize(case["input"]) != case["text_normalize"]
    }
    matches = len(reference_cases) - len(mismatches)
    print(f"\nnormalization exact match with upstream: {_rate(matches, len(reference_cases))}")
    for case_id, reason in NORMALIZATION_DIFFERENCES.items():
        print(f"  deliberate difference {case_id}: {reason}")
    assert set(mismatches) == set(NORMALIZATION_DIFFERENCES), mismatches


def test_splitting_agrees_with_upstream_where_normalization_does(
    frontend: TextFrontend, reference_cases: list[dict[str, Any]]
) -> None:
    checked = 0
    for case in reference_cases:
        if case["id"] in NORMALIZATION_DIFFERENCES:
            continue
        result = frontend.analyze(case["input"])
        assert frontend.split(result.normalized) == case["split_by_len_of_normalized"], case["id"]
        assert [s.text for s in result.segments] == case["pieces_text_normalize"], case["id"]
        checked += 1
    print(f"\nsplitting exact match with upstream: {_rate(checked, len(reference_cases))}")
    assert checked == len(reference_cases) - len(NORMALIZATION_DIFFERENCES)


def test_phoneme_text_agrees_with_upstream_except_listed(
    frontend: TextFrontend, reference_cases: list[dict[str, Any]]
) -> None:
    mismatches = []
    for case in reference_cases:
        result = frontend.analyze(case["input"], phoneme=True)
        if [s.phonemes for s in result.segments] != case["pieces_g2p_infer"]:
            mismatches.append(case["id"])
    matches = len(reference_cases) - len(mismatches)
    print(f"\nphoneme-mode exact match with upstream: {_rate(matches, len(reference_cases))}")
    expected = set(NORMALIZATION_DIFFERENCES) | set(PHONEME_DIFFERENCES)
    assert set(mismatches) == expected
