"""Numbered pinyin (``chong2``, ``lv4``, ``de5``) → the Mandarin IPA symbols Kokoro v1.0 reads.

Kokoro v1.0 was trained on misaki's legacy Mandarin transcription: affricates as ligatures (``ʦ ʨ ꭧ``),
aspiration as ``ʰ``, both apical vowels as ``ɨ``, diphthongs without non-syllabic marks, and the tone as
one arrow right after the syllable's vowel nucleus (``→ ↗ ↓ ↘`` for tones 1–4, nothing for the neutral
tone). The tables below are written from standard pinyin phonology in that symbol set.
"""

from __future__ import annotations

import re

from glmtts.errors import UnknownPhonemeError

#: Tone number → the arrow Kokoro expects after the nucleus (5 = neutral tone, unmarked).
TONE_MARKS: dict[int, str] = {1: "→", 2: "↗", 3: "↓", 4: "↘", 5: ""}

INITIALS: dict[str, str] = {
    "b": "p",
    "p": "pʰ",
    "m": "m",
    "f": "f",
    "d": "t",
    "t": "tʰ",
    "n": "n",
    "l": "l",
    "g": "k",
    "k": "kʰ",
    "h": "x",
    "j": "ʨ",
    "q": "ʨʰ",
    "x": "ɕ",
    "zh": "ꭧ",
    "ch": "ꭧʰ",
    "sh": "ʂ",
    "r": "ɻ",
    "z": "ʦ",
    "c": "ʦʰ",
    "s": "s",
}

#: Final → IPA with ``T`` where the tone mark goes.
FINALS: dict[str, str] = {
    "a": "aT",
    "ai": "aiT",
    "an": "aTn",
    "ang": "aTŋ",
    "ao": "auT",
    "e": "ɤT",
    "ei": "eiT",
    "en": "əTn",
    "eng": "əTŋ",
    "er": "ɚT",
    "i": "iT",
    "ia": "jaT",
    "ian": "jɛTn",
    "iang": "jaTŋ",
    "iao": "jauT",
    "ie": "jeT",
    "in": "iTn",
    "iou": "jouT",
    "ing": "iTŋ",
    "iong": "jʊTŋ",
    "ong": "ʊTŋ",
    "ou": "ouT",
    "u": "uT",
    "ua": "waT",
    "uai": "waiT",
    "uan": "waTn",
    "uang": "waTŋ",
    "uei": "weiT",
    "uen": "wəTn",
    "ueng": "wəTŋ",
    "uo": "woT",
    "o": "woT",
    "ü": "yT",
    "üe": "ɥeT",
    "üan": "ɥɛTn",
    "ün": "yTn",
    "ê": "ɛT",
}

#: Whole syllables that have no initial/final split (interjections, syllabic nasals).
WHOLE_SYLLABLES: dict[str, str] = {
    "o": "ɔT",
    "io": "jɔT",
    "m": "mT",
    "n": "nT",
    "ng": "ŋT",
    "hm": "xmT",
    "hng": "xŋT",
    "ê": "ɛT",
    "er": "ɚT",
}

#: Spelling of finals written with y/w (zero initial) → the final they stand for.
_ZERO_INITIAL: dict[str, str] = {
    "yi": "i",
    "ya": "ia",
    "yan": "ian",
    "yang": "iang",
    "yao": "iao",
    "ye": "ie",
    "yin": "in",
    "ying": "ing",
    "yo": "io",
    "yong": "iong",
    "you": "iou",
    "yu": "ü",
    "yuan": "üan",
    "yue": "üe",
    "yun": "ün",
    "wu": "u",
    "wa": "ua",
    "wai": "uai",
    "wan": "uan",
    "wang": "uang",
    "wei": "uei",
    "wen": "uen",
    "weng": "ueng",
    "wo": "uo",
}
#: Abbreviated finals of written pinyin.
_ABBREVIATED: dict[str, str] = {"iu": "iou", "ui": "uei", "un": "uen"}
_SYLLABLE = re.compile(r"^([a-zü]+?)([1-5]?)$")


def split_tone(syllable: str) -> tuple[str, int]:
    """``"chong2"`` → ``("chong", 2)``; no digit means the neutral tone (5)."""
    text = syllable.strip().lower().replace("v", "ü").replace("u:", "ü")
    match = _SYLLABLE.match(text)
    if match is None:
        raise UnknownPhonemeError(f"not a pinyin syllable: {syllable!r}")
    return match.group(1), int(match.group(2) or 5)


def _split_initial(base: str) -> tuple[str, str]:
    for size in (2, 1):
        head = base[:size]
        if head in INITIALS and len(base) > size:
            return head, base[size:]
    return "", base


def _final_ipa(initial: str, final: str) -> str | None:
    if final == "i" and initial in {"zh", "ch", "sh", "r", "z", "c", "s"}:
        return "ɨT"
    if initial in {"j", "q", "x"} and final.startswith("u"):
        final = "ü" + final[1:]
    final = _ABBREVIATED.get(final, final)
    return FINALS.get(final)


def _base_ipa(base: str) -> str | None:
    if base in WHOLE_SYLLABLES:
        return WHOLE_SYLLABLES[base]
    if base in _ZERO_INITIAL:
        return FINALS[_ZERO_INITIAL[base]]
    if base in FINALS:
        return FINALS[base]
    initial, final = _split_initial(base)
    if not initial:
        return None
    final_ipa = _final_ipa(initial, final)
    return None if final_ipa is None else INITIALS[initial] + final_ipa


def pinyin_to_ipa(syllable: str) -> str:
    """Kokoro IPA of one numbered-pinyin syllable, e.g. ``"chong2"`` → ``"ꭧʰʊ↗ŋ"``.

    An erhua syllable (``"huar1"``) keeps its base and ends in ``ɻ``. Raises
    :class:`~glmtts.errors.UnknownPhonemeError` for anything that is not pinyin.
    """
    base, tone = split_tone(syllable)
    rhotic = base.endswith("r") and base not in {"er", "r"} and _base_ipa(base) is None
    if base == "r":  # a bare erhua suffix such as 儿 split off as "r5"
        return "ɻ"
    ipa = _base_ipa(base[:-1] if rhotic else base)
    if ipa is None:
        raise UnknownPhonemeError(f"not a pinyin syllable: {syllable!r}")
    ipa = ipa.replace("T", TONE_MARKS[tone])
    return ipa + "ɻ" if rhotic else ipa


def word_to_ipa(syllables: tuple[str, ...] | list[str]) -> str:
    """Kokoro IPA of a word given as numbered-pinyin syllables (joined without spaces)."""
    return "".join(pinyin_to_ipa(syllable) for syllable in syllables)
