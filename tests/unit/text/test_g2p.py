"""Golden G2P cases: phrase-level polyphones and the upstream phoneme-token format."""

from __future__ import annotations

import pytest

from glmtts.errors import UnknownPhonemeError
from glmtts.text import TextFrontend, TokenKind
from glmtts.text.phonemes import VALID_TOKENS, pinyin_to_tokens, tokens_to_pinyin

POLYPHONE_CASES = [
    ("我们重新开始", "wo3 men5 chong2 xin1 kai1 shi3"),
    ("这个箱子的重量", "zhe4 ge5 xiang1 zi5 de5 zhong4 liang4"),
    ("重庆的火锅很重口味", "chong2 qing4 de5 huo3 guo1 hen3 zhong4 kou3 wei4"),
    ("银行行长", "yin2 hang2 hang2 zhang3"),
    ("这个行业的行情", "zhe4 ge5 hang2 ye4 de5 hang2 qing2"),
    ("他决定不再干这一行了", "ta1 jue2 ding4 bu4 zai4 gan4 zhe4 yi1 hang2 le5"),
    ("行不行", "xing2 bu4 xing2"),
    ("行，我们走吧", "xing2 wo3 men5 zou3 ba5"),
    ("这条路很长", "zhe4 tiao2 lu4 hen3 chang2"),
    ("我们去长城", "wo3 men5 qu4 chang2 cheng2"),
    ("他长大了", "ta1 zhang3 da4 le5"),
    ("孩子们的成长", "hai2 zi5 men5 de5 cheng2 zhang3"),
    ("校长来了", "xiao4 zhang3 lai2 le5"),
    ("还书的时候", "huan2 shu1 de5 shi2 hou4"),
    ("我去银行还钱", "wo3 qu4 yin2 hang2 huan2 qian2"),
    ("还款的时候还需要带上身份证", "huan2 kuan3 de5 shi2 hou4 hai2 xu1 yao4 dai4 shang4 shen1 fen4 zheng4"),
    ("你还好吗", "ni3 hai2 hao3 ma5"),
    ("音乐让人快乐", "yin1 yue4 rang4 ren2 kuai4 le4"),
    ("这首乐曲", "zhe4 shou3 yue4 qu3"),
    ("他得了第一名", "ta1 de2 le5 di4 yi1 ming2"),
    ("你得好好学习", "ni3 dei3 hao3 hao3 xue2 xi2"),
    ("跑得快", "pao3 de5 kuai4"),
    ("她高兴地跳了起来", "ta1 gao1 xing4 de5 tiao4 le5 qi3 lai2"),
    ("这块地很大", "zhe4 kuai4 di4 hen3 da4"),
    ("他睡着了", "ta1 shui4 zhao2 le5"),
    ("别着急", "bie2 zhao2 ji2"),
    ("他着了凉", "ta1 zhao2 le5 liang2"),
    ("看着我", "kan4 zhe5 wo3"),
    ("我们为人民服务", "wo3 men5 wei4 ren2 min2 fu2 wu4"),
    ("他被选为班长", "ta1 bei4 xuan3 wei2 ban1 zhang3"),
    ("湿度约为百分之六十", "shi1 du4 yue1 wei2 bai3 fen1 zhi1 liu4 shi2"),
    ("三只小猫", "san1 zhi1 xiao3 mao1"),
    ("只有你能做到", "zhi3 you3 ni3 neng2 zuo4 dao4"),
    ("数一数有几个", "shu3 yi1 shu3 you3 ji3 ge4"),
    ("把空调调到二十六度", "ba3 kong1 tiao2 diao4 dao4 er4 shi2 liu4 du4"),
    ("他的爱好是画画", "ta1 de5 ai4 hao4 shi4 hua4 hua4"),
    ("绿色的旅游", "lv4 se4 de5 lv3 you2"),
]


@pytest.mark.parametrize(("text", "pinyin"), POLYPHONE_CASES)
def test_polyphones_read_by_phrase_and_context(frontend: TextFrontend, text: str, pinyin: str) -> None:
    (segment,) = frontend.analyze(text).segments
    assert segment.pinyin == pinyin


def test_tokens_carry_words_and_per_character_pinyin(frontend: TextFrontend) -> None:
    (segment,) = frontend.analyze("我用iPhone拍了照片。").segments
    kinds = [token.kind for token in segment.tokens]
    assert TokenKind.EN in kinds and TokenKind.PUNCT in kinds
    english = next(token for token in segment.tokens if token.kind is TokenKind.EN)
    assert english.text == "iPhone"  # letter case kept for the kokoro engine's English G2P
    for token in segment.tokens:
        if token.kind is TokenKind.ZH:
            assert len(token.pinyin) == len(token.text)
    assert segment.text == "我用iphone拍了照片。"


PHONEME_CASES = [
    ("shang4", ("SH", "ANG4")),
    ("chong2", ("CH", "ONG2")),
    ("zi3", ("Z", "II3")),
    ("ci2", ("C", "II2")),
    ("si1", ("S", "II1")),
    ("zhi1", ("ZH", "III1")),
    ("chi1", ("CH", "III1")),
    ("shi4", ("SH", "III4")),
    ("ri4", ("R", "III4")),
    ("ji3", ("J", "I3")),
    ("le5", ("L", "E5")),
    ("yao4", ("IAO4",)),
    ("wei4", ("UEI4",)),
    ("yue4", ("VE4",)),
    ("yu2", ("V2",)),
    ("yuan2", ("VAN2",)),
    ("yun4", ("VN4",)),
    ("ying1", ("ING1",)),
    ("wu3", ("U3",)),
    ("qu1", ("Q", "V1")),
    ("xue2", ("X", "VE2")),
    ("juan4", ("J", "VAN4")),
    ("lv4", ("L", "V4")),
    ("nve4", ("N", "VE4")),
    ("liu2", ("L", "IOU2")),
    ("gui4", ("G", "UEI4")),
    ("dun1", ("D", "UEN1")),
    ("er4", ("ER4",)),
    ("de", ("D", "E5")),
]


@pytest.mark.parametrize(("syllable", "tokens"), PHONEME_CASES)
def test_pinyin_to_upstream_tokens_and_back(syllable: str, tokens: tuple[str, ...]) -> None:
    assert pinyin_to_tokens(syllable) == tokens
    assert all(token in VALID_TOKENS for token in tokens)
    initial = tokens[0] if len(tokens) == 2 else None
    expected_back = syllable if syllable[-1].isdigit() else syllable + "5"
    assert tokens_to_pinyin(initial, tokens[-1]) == expected_back


def test_inventory_has_21_initials_and_toned_finals() -> None:
    initials = [t for t in VALID_TOKENS if not t[-1].isdigit()]
    assert len(initials) == 21
    assert {"A1", "VN5", "III4", "II3", "UEI2"} <= VALID_TOKENS


@pytest.mark.parametrize("bad", ["xyz4", "chong9", "重", "q5x"])
def test_unknown_syllable_is_a_typed_error(bad: str) -> None:
    with pytest.raises(UnknownPhonemeError):
        pinyin_to_tokens(bad)


def test_english_passes_through_phoneme_mode(frontend: TextFrontend) -> None:
    (segment,) = frontend.analyze("Hello world.", phoneme=True).segments
    assert segment.phonemes == "hello world."
    assert segment.pinyin == ""
