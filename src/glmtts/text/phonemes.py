"""The upstream GLM-TTS phoneme-token inventory and conversions between pinyin and tokens.

Upstream writes a Mandarin syllable as an optional initial token followed by a toned final token, each
upper-cased and wrapped in ``<|…|>``: 重 chóng → ``<|CH|><|ONG2|>``, 要 yào → ``<|IAO4|>``. Finals use the
"strict" spelling (no y/w, ``UEI`` for -ui, ``IOU`` for -iu, ``UEN`` for -un, ``V`` for ü), the neutral tone
is 5, and the apical vowel is ``II`` after z/c/s and ``III`` after zh/ch/sh/r.

Pinyin in this package is numbered-tone ``TONE3`` spelling with ``v`` for ü (``lv4``, ``nve4``).
"""

from __future__ import annotations

import re

from glmtts.errors import UnknownPhonemeError

INITIALS: tuple[str, ...] = (
    "B", "P", "M", "F", "D", "T", "N", "L", "G", "K", "H",
    "J", "Q", "X", "ZH", "CH", "SH", "R", "Z", "C", "S",
)  # fmt: skip
FINALS: tuple[str, ...] = (
    "A", "AI", "AN", "ANG", "AO", "E", "EI", "EN", "ENG", "ER", "O", "ONG", "OU",
    "I", "IA", "IAN", "IANG", "IAO", "IE", "IN", "ING", "IONG", "IOU", "II", "III",
    "U", "UA", "UAI", "UAN", "UANG", "UEI", "UEN", "UENG", "UO",
    "V", "VAN", "VE", "VN",
)  # fmt: skip
TONES = "12345"
VALID_TOKENS: frozenset[str] = frozenset(INITIALS) | frozenset(f + t for f in FINALS for t in TONES)

TOKEN_PATTERN = re.compile(r"<\|([^|<>]*)\|>")
PINYIN_SYLLABLE_PATTERN = re.compile(r"^([a-zü:]+)([1-5])$")

_ZERO_INITIAL_Y = {
    "yi": "I", "ya": "IA", "ye": "IE", "yao": "IAO", "you": "IOU", "yan": "IAN", "yang": "IANG",
    "yin": "IN", "ying": "ING", "yong": "IONG", "yu": "V", "yue": "VE", "yuan": "VAN", "yun": "VN",
    "yo": "IOU",
}  # fmt: skip
_ZERO_INITIAL_W = {
    "wu": "U", "wa": "UA", "wo": "UO", "wai": "UAI", "wei": "UEI", "wan": "UAN", "wen": "UEN",
    "wang": "UANG", "weng": "UENG",
}  # fmt: skip
_FINAL_SPELLING = {"iu": "IOU", "ui": "UEI", "un": "UEN", "ue": "VE", "ve": "VE", "v": "V", "van": "VAN"}
_PALATAL_FINALS = {"u": "V", "ue": "VE", "uan": "VAN", "un": "VN"}
_ZERO_INITIAL_BY_FINAL = {v: k for k, v in {**_ZERO_INITIAL_W, **_ZERO_INITIAL_Y}.items() if k != "yo"}
_SPELLING_BY_FINAL = {"IOU": "iu", "UEI": "ui", "UEN": "un", "II": "i", "III": "i"}
_SPELLING_BY_PALATAL_FINAL = {"V": "u", "VE": "ue", "VAN": "uan", "VN": "un"}


def split_pinyin(syllable: str) -> tuple[str, str, str]:
    """Split a numbered-tone syllable into (initial, final, tone): ``"zhong4"`` → ``("zh", "ong", "4")``.

    A syllable without a tone digit gets the neutral tone 5. Raises ``ValueError`` if it is not pinyin.
    """
    text = syllable.strip().lower().replace("ü", "v").replace("u:", "v")
    if text and text[-1] in TONES:
        body, tone = text[:-1], text[-1]
    else:
        body, tone = text, "5"
    if not body.isalpha() or not body.isascii():
        raise ValueError(f"not a pinyin syllable: {syllable!r}")
    for initial in ("zh", "ch", "sh"):
        if body.startswith(initial):
            return initial, body[len(initial) :], tone
    if body[0] in "bpmfdtnlgkhjqxrzcs" and len(body) > 1:
        return body[0], body[1:], tone
    return "", body, tone


def pinyin_to_tokens(syllable: str) -> tuple[str, ...]:
    """Convert one numbered-tone pinyin syllable to upstream phoneme tokens (without the ``<|…|>``).

    ``"chong2"`` → ``("CH", "ONG2")``; ``"yao4"`` → ``("IAO4",)``; ``"zi3"`` → ``("Z", "II3")``.
    Raises ``UnknownPhonemeError`` for a syllable outside Mandarin's inventory.
    """
    try:
        initial, final, tone = split_pinyin(syllable)
    except ValueError as exc:
        raise UnknownPhonemeError(f"{exc}; expected numbered-tone pinyin such as chong2") from exc
    if not initial:
        table = _ZERO_INITIAL_Y if final.startswith("y") else _ZERO_INITIAL_W
        strict = table.get(final, final.upper() if final.upper() in FINALS else "")
    elif final == "i" and initial in ("zh", "ch", "sh", "r"):
        strict = "III"
    elif final == "i" and initial in ("z", "c", "s"):
        strict = "II"
    elif initial in ("j", "q", "x") and final in _PALATAL_FINALS:
        strict = _PALATAL_FINALS[final]
    else:
        strict = _FINAL_SPELLING.get(final, final.upper())
    if strict not in FINALS:
        raise UnknownPhonemeError(f"not a Mandarin syllable: {syllable!r}")
    return (*((initial.upper(),) if initial else ()), strict + tone)


def tokens_to_pinyin(initial: str | None, final_with_tone: str) -> str:
    """Inverse of :func:`pinyin_to_tokens`: ``("CH", "ONG2")`` → ``"chong2"``, ``(None, "UEI4")`` → ``"wei4"``."""
    final, tone = final_with_tone[:-1], final_with_tone[-1]
    if not initial:
        return _ZERO_INITIAL_BY_FINAL.get(final, final.lower()) + tone
    if initial in ("J", "Q", "X") and final in _SPELLING_BY_PALATAL_FINAL:
        spelling = _SPELLING_BY_PALATAL_FINAL[final]
    else:
        spelling = _SPELLING_BY_FINAL.get(final, final.lower())
    return initial.lower() + spelling + tone


def format_tokens(tokens: tuple[str, ...]) -> str:
    """Wrap tokens in upstream brackets: ``("SH", "ANG4")`` → ``"<|SH|><|ANG4|>"``."""
    return "".join(f"<|{token}|>" for token in tokens)


def pinyin_to_phoneme_string(syllables: str) -> str:
    """Convert space-separated pinyin (``"chong2 xin1"``) to the token string ``<|CH|><|ONG2|><|X|><|IN1|>``."""
    return "".join(format_tokens(pinyin_to_tokens(s)) for s in syllables.split())


def check_tokens(text: str, where: str = "") -> None:
    """Raise ``UnknownPhonemeError`` if ``text`` holds a ``<|…|>`` token outside the inventory."""
    for match in TOKEN_PATTERN.finditer(text):
        if match.group(1) not in VALID_TOKENS:
            prefix = f"{where}: " if where else ""
            raise UnknownPhonemeError(
                f"{prefix}unknown phoneme token <|{match.group(1)}|>; valid tokens: {describe_inventory()}"
            )


def read_hybrid(text: str) -> list[tuple[str, str | None]]:
    """Read a hybrid replacement string as spoken units ``(text, pinyin or None)``.

    A run ``<|INITIAL|><|FINAL|>`` (or a lone final) is one unit with its pinyin; any other character is a
    unit of its own with ``None`` (text the normal G2P reads). ``"<|CH|><|ONG2|>新"`` →
    ``[("<|CH|><|ONG2|>", "chong2"), ("新", None)]``.
    """
    units: list[tuple[str, str | None]] = []
    pending: tuple[int, str] | None = None
    position = 0
    while position < len(text):
        match = TOKEN_PATTERN.match(text, position)
        if match is None:
            units.append((text[position], None))
            position += 1
            continue
        token = match.group(1)
        if token in INITIALS:
            pending = (position, token)
        else:
            start = pending[0] if pending else position
            units.append(
                (text[start : match.end()], tokens_to_pinyin(pending[1] if pending else None, token))
            )
            pending = None
        position = match.end()
    return units


def describe_inventory() -> str:
    """The valid tokens, initials first: ``B P M … S, A1 A2 … VN5``."""
    finals = " ".join(f + t for f in FINALS for t in TONES)
    return " ".join(INITIALS) + ", " + finals
