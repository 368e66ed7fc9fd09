"""Mandarin tone sandhi: from the lexical tones the frontend gives to the tones a speaker says.

:class:`~glmtts.text.G2PToken` pinyin holds lexical (dictionary) tones, which is what the upstream phoneme
tokens and user dictionaries use. An engine that turns pinyin straight into sound (``kokoro``) should
apply :func:`apply_tone_sandhi` first:

* 不 bù before a fourth tone becomes bú (不是 bú shì);
* 一 yī before a fourth tone becomes yí, before other tones yì (一遍 yí biàn, 一天 yì tiān); it keeps yī
  when it is a number (第一, 十一, 一二三, 一月) or ends a word (统一), and is neutral between a repeated
  verb (看一看);
* a third tone before another third tone becomes a second tone, inside a word and from a one-syllable
  word into the next word (你好 ní hǎo, 很好 hén hǎo).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from glmtts.text.config import G2PToken, TokenKind

_NUMBER_CHARS = frozenset("零〇一二三四五六七八九十百千万亿两幺第初点")
_MONTH_OR_DATE = frozenset("月日号")


def apply_tone_sandhi(tokens: Sequence[G2PToken]) -> tuple[G2PToken, ...]:
    """Tokens with surface tones; non-Chinese tokens are returned unchanged.

    Sandhi does not cross punctuation or non-Chinese tokens.
    """
    result = list(tokens)
    start = 0
    while start < len(result):
        if result[start].kind is not TokenKind.ZH or len(result[start].pinyin) != len(result[start].text):
            start += 1
            continue
        end = start
        while (
            end < len(result)
            and result[end].kind is TokenKind.ZH
            and len(result[end].pinyin) == len(result[end].text)
        ):
            end += 1
        result[start:end] = _sandhi_run(result[start:end])
        start = end
    return tuple(result)


def _sandhi_run(words: list[G2PToken]) -> list[G2PToken]:
    chars = "".join(word.text for word in words)
    syllables = [s for word in words for s in word.pinyin]
    word_starts = {sum(len(w.text) for w in words[:i]) for i in range(len(words))}
    word_ends = {sum(len(w.text) for w in words[: i + 1]) - 1 for i in range(len(words))}
    for index, char in enumerate(chars):
        following = _tone(syllables[index + 1]) if index + 1 < len(syllables) else 0
        if char == "不" and syllables[index] == "bu4" and following == 4:
            syllables[index] = "bu2"
        elif char == "一" and syllables[index] == "yi1":
            syllables[index] = _yi(chars, index, following, index in word_ends)
    _third_tones(syllables, word_starts)
    out: list[G2PToken] = []
    position = 0
    for word in words:
        out.append(replace(word, pinyin=tuple(syllables[position : position + len(word.text)])))
        position += len(word.text)
    return out


def _yi(chars: str, index: int, following: int, ends_word: bool) -> str:
    before = chars[index - 1] if index else ""
    after = chars[index + 1] if index + 1 < len(chars) else ""
    if before in _NUMBER_CHARS or after in _NUMBER_CHARS or after in _MONTH_OR_DATE:
        return "yi1"
    if before and before == after:
        return "yi5"
    if ends_word or not following:
        return "yi1"
    return "yi2" if following == 4 else "yi4"


def _third_tones(syllables: list[str], word_starts: set[int]) -> None:
    """Third tone before a (lexical) third tone → second tone, inside a word or from a monosyllable."""
    lexical = [_tone(syllable) for syllable in syllables]
    for index in range(len(syllables) - 1):
        if lexical[index] == 3 and lexical[index + 1] == 3:
            crosses_words = index + 1 in word_starts
            if not crosses_words or index in word_starts:
                syllables[index] = syllables[index][:-1] + "2"


def _tone(syllable: str) -> int:
    return int(syllable[-1]) if syllable and syllable[-1].isdigit() else 5
