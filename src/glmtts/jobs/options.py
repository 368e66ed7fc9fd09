"""What a job shares with every request: its options and the checks of its lines, from the service.

A job's options are request fields (``seed``, ``speed``, ``phoneme``, ``use_cache``, sampling) validated
by the service's own :class:`~glmtts.synthesis.RequestDecoder` and stored with the job; the seed is
filled in from the decoder's defaults (the server's ``--seed``) when a submission gives none. Each line is
checked by the same rules as an HTTP request (text limits, voice names).

``captions`` (true/false) makes every item write ``<uttid>.srt`` and ``<uttid>.vtt`` beside its WAV (and
into the archive); ``timestamps`` (``"segment"`` or ``"word"``) picks the timing, ``"segment"`` by default.
They are stored as the request field ``timestamps``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glmtts.synthesis import RequestDecoder, SynthesisService, parse_bool
from glmtts.voices import VoiceSpec

JOB_OPTION_FIELDS = (
    "seed",
    "speed",
    "phoneme",
    "use_cache",
    "sampling",
    "temperature",
    "top_k",
    "top_p",
    "captions",
    "timestamps",
)


def job_options(decoder: RequestDecoder, fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The validated options of a job from loosely typed fields (form, JSON, CLI flags)."""
    given = {
        name: (fields or {})[name] for name in JOB_OPTION_FIELDS if (fields or {}).get(name) not in (None, "")
    }
    captions = parse_bool("captions", given.pop("captions", False))
    if captions and given.get("timestamps", "none") == "none":
        given["timestamps"] = "segment"
    options = decoder.options(given)
    stored: dict[str, Any] = {
        "seed": options.seed,
        "phoneme": options.phoneme,
        "use_cache": options.use_cache,
    }
    if "speed" in given:
        stored["speed"] = options.speed
    if options.timestamps != "none":
        stored["timestamps"] = options.timestamps
    sampling = options.sampling
    for name in ("sampling", "temperature", "top_k", "top_p"):
        if name in given:
            stored[name] = sampling.strategy if name == "sampling" else getattr(sampling, name)
    return stored


class ServiceLineChecks:
    """The request-level checks of a batch line, by the synthesis service's rules."""

    def __init__(self, service: SynthesisService) -> None:
        self.service = service

    def text(self, value: Any) -> str:
        return self.service.decoder.text(value)

    def voice(self, name: str) -> None:
        self.service.resolve_voice(VoiceSpec(name=name))
