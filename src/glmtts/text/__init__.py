"""The text frontend shared by every engine: normalization, splitting, G2P and pronunciation dictionaries.

Typical use::

    frontend = TextFrontend(FrontendConfig())
    frontend.load()
    result = frontend.analyze("银行行长说，重新来一遍。", phoneme=True)
    result.segments[0].pinyin     # "yin2 hang2 hang2 zhang3 shuo1 chong2 xin1 lai2 yi1 bian4"
    result.segments[0].phonemes   # "银<|H|><|ANG2|><|H|><|ANG2|><|ZH|><|ANG3|>说，..."

Normalization runs WeTextProcessing 1.0.3's grammars (on kaldifst) inside the official GLM-TTS wrapper rules;
phoneme mode is the official rule (``G2P_able_1word.json``, jieba-posseg, pypinyin). Importing this package is
cheap: the grammars, jieba and pypinyin load in :meth:`TextFrontend.load` (phoneme mode on first use).
"""

from glmtts.text.config import FrontendConfig, FrontendResult, G2PToken, Segment, TokenKind
from glmtts.text.dictionary import PronunciationDictionary, load_custom_replace, load_replace_dict
from glmtts.text.frontend import TextFrontend
from glmtts.text.grammar import NormalizerInfo
from glmtts.text.phonemes import VALID_TOKENS, pinyin_to_tokens
from glmtts.text.sandhi import apply_tone_sandhi

__all__ = [
    "VALID_TOKENS",
    "FrontendConfig",
    "FrontendResult",
    "G2PToken",
    "NormalizerInfo",
    "PronunciationDictionary",
    "Segment",
    "TextFrontend",
    "TokenKind",
    "apply_tone_sandhi",
    "load_custom_replace",
    "load_replace_dict",
    "pinyin_to_tokens",
]
