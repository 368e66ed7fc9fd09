"""glmtts: an always-warm zero-shot text-to-speech runtime.

Importing this package has no side effects: it touches no device, reads no environment variable and
configures no logging. ``glmtts.load(engine)`` (see :mod:`glmtts.tts`) loads an engine in this process::

    import glmtts
    tts = glmtts.load("kokoro")
    tts.synthesize("Hello.", voice="jm_kumo").save("hello.wav")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from glmtts.tts import TTS


def load(engine: str = "kokoro", **kwargs: Any) -> TTS:
    """Load ``engine`` in this process and return a :class:`glmtts.tts.TTS` (imports happen here)."""
    from glmtts.tts import load as load_engine

    return load_engine(engine, **kwargs)


__all__ = ["__version__", "load"]
