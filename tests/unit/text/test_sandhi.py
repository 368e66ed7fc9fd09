"""Tone sandhi: lexical tones from the frontend → the tones a speaker says (for the kokoro engine)."""

from __future__ import annotations

import pytest

from glmtts.text import G2PToken, TextFrontend, TokenKind, apply_tone_sandhi

SANDHI_CASES = [
    ("不是我的错", "bu4 shi4 wo3 de5 cuo4", "bu2 shi4 wo3 de5 cuo4"),
    ("不好", "bu4 hao3", "bu4 hao3"),
    ("一遍又一遍", "yi1 bian4 you4 yi1 bian4", "yi2 bian4 you4 yi2 bian4"),
    ("一天", "yi1 tian1", "yi4 tian1"),
    ("一个人", "yi1 ge4 ren2", "yi2 ge4 ren2"),
    ("第一名", "di4 yi1 ming2", "di4 yi1 ming2"),
    ("十一月一日", "shi2 yi1 yue4 yi1 ri4", "shi2 yi1 yue4 yi1 ri4"),
    ("看一看", "kan4 yi1 kan4", "kan4 yi5 kan4"),
    ("统一", "tong3 yi1", "tong3 yi1"),
    ("你好", "ni3 hao3", "ni2 hao3"),
    ("展览馆", "zhan3 lan3 guan3", "zhan2 lan2 guan3"),
    ("差不多", "cha4 bu5 duo1", "cha4 bu5 duo1"),
]


@pytest.mark.parametrize(("text", "lexical", "spoken"), SANDHI_CASES)
def test_lexical_pinyin_and_spoken_tones(
    frontend: TextFrontend, text: str, lexical: str, spoken: str
) -> None:
    (segment,) = frontend.analyze(text).segments
    assert segment.pinyin == lexical
    assert " ".join(s for token in apply_tone_sandhi(segment.tokens) for s in token.pinyin) == spoken


def test_sandhi_keeps_non_chinese_tokens_and_does_not_cross_punctuation() -> None:
    tokens = (
        G2PToken("好", TokenKind.ZH, ("hao3",)),
        G2PToken("，", TokenKind.PUNCT),
        G2PToken("好", TokenKind.ZH, ("hao3",)),
        G2PToken("ok", TokenKind.EN),
    )
    assert apply_tone_sandhi(tokens) == tokens
