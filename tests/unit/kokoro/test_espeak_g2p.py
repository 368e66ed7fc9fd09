"""English through espeak-ng, segment phonemization and splitting for Kokoro's context."""

from __future__ import annotations

import pytest

from glmtts.engines.kokoro.espeak import EspeakPhonemizer, espeak_ipa_to_kokoro
from glmtts.engines.kokoro.g2p import KokoroPhonemizer, has_speech, split_phonemes
from glmtts.text.config import G2PToken, Segment, TokenKind


@pytest.fixture(scope="module")
def espeak() -> EspeakPhonemizer:
    return EspeakPhonemizer()


def test_espeak_english_uses_kokoro_symbols(espeak: EspeakPhonemizer) -> None:
    assert espeak.phonemize("hello") == "həlˈO"
    assert espeak.phonemize("judge church") == "ʤˈʌʤ ʧˈɜɹʧ"


def test_ipa_mapping_merges_diphthongs_and_affricates() -> None:
    assert espeak_ipa_to_kokoro("fˈaɪɚ tʃˈeɪn") == "fˈIəɹ ʧˈAn"


def test_mixed_segment(espeak: EspeakPhonemizer) -> None:
    from glmtts.engines.kokoro.assets import load_vocab

    tokens = (
        G2PToken("我", TokenKind.ZH, ("wo3",)),
        G2PToken("用", TokenKind.ZH, ("yong4",)),
        G2PToken("Python", TokenKind.EN),
        G2PToken(" ", TokenKind.SPACE),
        G2PToken("code", TokenKind.EN),
        G2PToken("，", TokenKind.PUNCT),
        G2PToken("好", TokenKind.ZH, ("hao3",)),
        G2PToken("。", TokenKind.PUNCT),
    )
    phonemizer = KokoroPhonemizer(load_vocab(), espeak)
    phonemes = phonemizer.segment_phonemes(Segment("我用python code，好。", tokens, "wo3 yong4 hao3", None))
    assert phonemes == "wo↓ jʊ↘ŋ pˈIθən kˈOd, xau↓."
    segment = Segment("我用python code，好。", tokens, "wo3 yong4 hao3", None)
    assert phonemizer.segment_runs(segment) == ["wo↓ jʊ↘ŋ", "pˈIθən kˈOd,", "xau↓."]
    assert len(phonemizer.token_ids(phonemes)) == len(phonemes)


def test_split_respects_context_and_prefers_clause_breaks() -> None:
    clause = "ʨi→ntʰjɛ→n xə↓n xau↓, "
    text = (clause * 60).strip()
    pieces = split_phonemes(text, max_tokens=100)
    assert all(len(p) <= 100 for p in pieces)
    assert all(p.endswith(",") for p in pieces[:-1])
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    assert split_phonemes("a" * 250, max_tokens=100) == ["a" * 100, "a" * 100, "a" * 50]


def test_has_speech() -> None:
    assert has_speech("xau↓.")
    assert not has_speech(", . !")
