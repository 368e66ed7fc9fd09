"""English words → Kokoro phoneme symbols through espeak-ng, driven with ctypes.

The library and its data come from the ``espeakng-loader`` wheel, so ``pip install`` alone is enough; a
system ``libespeak-ng`` (Debian ``espeak-ng``) is the fallback. espeak-ng keeps global state, so one
process talks to it from one thread at a time (a lock guards every call).

espeak's IPA differs from the symbol set Kokoro v1.0 was trained on (misaki's inventory): diphthongs are
single letters (``eɪ`` → ``A``), affricates are ligatures (``tʃ`` → ``ʧ``), r-coloured vowels are spelled
out. :func:`espeak_ipa_to_kokoro` applies that mapping.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from glmtts.errors import EngineError

_LOGGER = logging.getLogger(__name__)

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8 = 1
#: bit 1 of ``phonememode``: IPA output (UTF-8) instead of espeak's ASCII phoneme names.
_PHONEME_MODE_IPA = 0x02

#: Longest espeak spellings first so multi-letter sounds are replaced before their parts.
_IPA_TO_KOKORO: tuple[tuple[str, str], ...] = (
    ("ʔˌn̩", "ʔn"),
    ("a͡ɪ", "I"),
    ("a͡ʊ", "W"),
    ("e͡ɪ", "A"),
    ("o͡ʊ", "O"),
    ("ɔ͡ɪ", "Y"),
    ("d͡ʒ", "ʤ"),
    ("t͡ʃ", "ʧ"),
    ("aɪ", "I"),
    ("aʊ", "W"),
    ("eɪ", "A"),
    ("oʊ", "O"),
    ("əʊ", "O"),
    ("ɔɪ", "Y"),
    ("dʒ", "ʤ"),
    ("tʃ", "ʧ"),
    ("ɚ", "əɹ"),
    ("ɝ", "ɜɹ"),
    ("ɐ", "ə"),
    ("ɜː", "ɜɹ"),
    ("ᵻ", "ɪ"),
    ("ɾ", "T"),
    ("ɬ", "l"),
    ("r", "ɹ"),
    ("x", "k"),
    ("ç", "k"),
    ("ʲ", ""),
    ("n̩", "ᵊn"),
    ("l̩", "ᵊl"),
    ("ː", ""),
    ("\u0303", ""),
    ("\u0361", ""),
    ("\u032f", ""),
    ("\u0329", ""),
)


@dataclass(frozen=True)
class EspeakLibrary:
    """Where the espeak-ng shared library and its data directory are."""

    library_path: str
    data_path: str | None

    @classmethod
    def locate(cls) -> EspeakLibrary:
        """Prefer the pip-installed ``espeakng-loader``; fall back to a system ``libespeak-ng``."""
        try:
            import espeakng_loader

            library = Path(espeakng_loader.get_library_path())
            if library.is_file():
                return cls(str(library), espeakng_loader.get_data_path())
        except (ImportError, RuntimeError) as exc:
            _LOGGER.debug("espeakng-loader unavailable (%s); looking for a system espeak-ng", exc)
        system = ctypes.util.find_library("espeak-ng")
        if system is None:
            raise EngineError(
                "espeak-ng was not found: install the 'espeakng-loader' wheel or the system espeak-ng package"
            )
        return cls(system, None)


class EspeakPhonemizer:
    """Converts English text to Kokoro phoneme strings (US English voice of espeak-ng)."""

    def __init__(self, library: EspeakLibrary | None = None, voice: str = "en-us") -> None:
        self.library = library or EspeakLibrary.locate()
        self.voice = voice
        self._lock = threading.Lock()
        self._lib = self._open()

    def _open(self) -> ctypes.CDLL:
        try:
            lib = ctypes.CDLL(self.library.library_path)
        except OSError as exc:
            raise EngineError(f"cannot load espeak-ng from {self.library.library_path}: {exc}") from exc
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        data = self.library.data_path.encode() if self.library.data_path else None
        if lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0) <= 0:
            raise EngineError(f"espeak-ng failed to initialize (data: {self.library.data_path})")
        if lib.espeak_SetVoiceByName(self.voice.encode()) != 0:
            raise EngineError(f"espeak-ng has no voice {self.voice!r}")
        _LOGGER.debug("espeak-ng loaded from %s", self.library.library_path)
        return lib

    def ipa(self, text: str) -> str:
        """espeak-ng's IPA for ``text`` (clauses joined by spaces)."""
        buffer = ctypes.create_string_buffer(text.encode("utf-8"))
        pointer = ctypes.c_char_p(ctypes.addressof(buffer))
        pieces: list[str] = []
        with self._lock:
            self._lib.espeak_SetVoiceByName(self.voice.encode())
            while pointer.value:
                result = self._lib.espeak_TextToPhonemes(
                    ctypes.byref(pointer), _ESPEAK_CHARS_UTF8, _PHONEME_MODE_IPA
                )
                if result:
                    pieces.append(result.decode("utf-8", "replace").strip())
        return " ".join(piece for piece in pieces if piece)

    def phonemize(self, text: str) -> str:
        """Kokoro phoneme symbols for English ``text``."""
        return espeak_ipa_to_kokoro(self.ipa(text))


def espeak_ipa_to_kokoro(ipa: str) -> str:
    """Map espeak-ng IPA onto the symbols Kokoro v1.0 was trained on."""
    out = ipa.replace("\n", " ")
    for source, target in _IPA_TO_KOKORO:
        out = out.replace(source, target)
    return " ".join(out.split())
