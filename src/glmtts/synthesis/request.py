"""The one request type and the one decoder every front end turns its input into it with.

HTTP JSON (OpenAI and jobs), HTTP multipart, the Gradio form, CLI flags and batch JSONL lines are all
loosely typed fields; :class:`RequestDecoder` turns them into a frozen :class:`SynthesisRequest` with one
set of :class:`Defaults` and :class:`Limits` (built from settings, or from plain values).

Fields (names after the front end mapped its own, e.g. OpenAI's ``input`` → ``text``): ``text``,
``voice``, ``seed``, ``speed``, ``phoneme``, ``use_cache``, ``sampling``, ``temperature``, ``top_k``, ``top_p``,
``format``, ``instructions``, ``timestamps``. Unknown fields are ignored.

``timestamps`` (``"none" | "segment" | "word"``) asks for caption timing on the chunks; left out, it is
``"none"``, except for a caption format (``srt``/``vtt``), which needs at least ``"segment"``. Whether
the engine can time words is the service's business (:meth:`SynthesisService.run` falls back to
segments and says so), not the decoder's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glmtts.audio import AudioFormat, parse_format
from glmtts.engines.base import DEFAULT_SEED, TIMESTAMP_LEVELS, SamplingOptions, SynthesisOptions
from glmtts.errors import InvalidOptionError, NothingToSayError, TextTooLongError
from glmtts.voices import PromptClip, PromptLimits, VoiceSpec, decode_prompt, read_prompt

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
MAX_INSTRUCTIONS_CHARS = 4096


@dataclass(frozen=True)
class SynthesisRequest:
    """One synthesis request as every front end hands it to the synthesis service."""

    text: str
    voice: VoiceSpec = field(default_factory=VoiceSpec)
    options: SynthesisOptions = field(default_factory=SynthesisOptions)
    audio_format: AudioFormat = AudioFormat.WAV
    request_id: str = ""
    route: str = "internal"


@dataclass(frozen=True)
class Defaults:
    """What a request gets for the fields it leaves out."""

    seed: int = DEFAULT_SEED
    speed: float = 1.0
    audio_format: AudioFormat = AudioFormat.WAV


@dataclass(frozen=True)
class Limits:
    """Bounds on what a request may carry (text length, prompt clip length and file size)."""

    max_text_chars: int = 20_000
    prompt: PromptLimits = field(default_factory=PromptLimits)

    @property
    def max_upload_bytes(self) -> int:
        return self.prompt.max_bytes


def parse_bool(name: str, value: Any) -> bool:
    """A boolean field (``true/false/1/0/yes/no/on/off``)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidOptionError(f"{name} must be true or false, got {str(value)[:40]!r}")


def parse_number(name: str, value: Any, kind: type[int] | type[float]) -> int | float:
    """An int or float field; raise :class:`InvalidOptionError` naming the field otherwise."""
    try:
        if isinstance(value, bool):
            raise ValueError
        if kind is float:
            return float(value)
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError
            return int(value)
        return value if isinstance(value, int) else int(str(value).strip())
    except (TypeError, ValueError, OverflowError):
        expected = "an integer" if kind is int else "a number"
        raise InvalidOptionError(f"{name} must be {expected}, got {str(value)[:40]!r}") from None


def _given(fields: Mapping[str, Any], name: str) -> bool:
    return fields.get(name) not in (None, "")


class RequestDecoder:
    """Turns loosely typed fields into a :class:`SynthesisRequest` (see the module docstring)."""

    def __init__(self, defaults: Defaults | None = None, limits: Limits | None = None) -> None:
        self.defaults = defaults or Defaults()
        self.limits = limits or Limits()

    def text(self, value: Any) -> str:
        """The text to speak, stripped; refuse non-strings, empty and over-long text."""
        if not isinstance(value, str) or not value.strip():
            raise NothingToSayError("text is empty")
        if len(value) > self.limits.max_text_chars:
            raise TextTooLongError(
                f"text has {len(value)} characters; at most {self.limits.max_text_chars} are accepted"
            )
        return value.strip()

    def seed(self, value: Any) -> int:
        return self.defaults.seed if value in (None, "") else int(parse_number("seed", value, int))

    def options(self, fields: Mapping[str, Any], *, stream: bool = False) -> SynthesisOptions:
        """Validated options from ``seed speed phoneme sampling temperature top_k top_p instructions
        timestamps`` (and ``format``, which decides the default caption timing)."""
        sampling: dict[str, Any] = {}
        if _given(fields, "sampling"):
            sampling["strategy"] = str(fields["sampling"]).strip().lower()
        for name, kind in (("temperature", float), ("top_k", int), ("top_p", float)):
            if _given(fields, name):
                sampling[name] = parse_number(name, fields[name], kind)
        speed = fields.get("speed")
        return SynthesisOptions(
            seed=self.seed(fields.get("seed")),
            speed=self.defaults.speed if speed in (None, "") else float(parse_number("speed", speed, float)),
            sampling=SamplingOptions(**sampling),
            phoneme=parse_bool("phoneme", fields.get("phoneme", False)),
            use_cache=parse_bool("use_cache", fields.get("use_cache", True)),
            max_chars=self.limits.max_text_chars,
            stream=stream,
            instructions=self._instructions(fields.get("instructions")),
            timestamps=self.timestamps(fields.get("timestamps"), self.audio_format(fields.get("format"))),
        )

    @staticmethod
    def timestamps(value: Any, audio_format: AudioFormat = AudioFormat.WAV) -> str:
        """The caption timing level: ``value`` if given, else ``"segment"`` for captions, else ``"none"``."""
        if value in (None, ""):
            return "segment" if audio_format.is_captions else "none"
        level = str(value).strip().lower() if isinstance(value, str) else None
        if level not in TIMESTAMP_LEVELS:
            raise InvalidOptionError(f"timestamps must be one of {', '.join(TIMESTAMP_LEVELS)}")
        if level == "none" and audio_format.is_captions:
            raise InvalidOptionError(f"{audio_format.value} captions need timestamps 'segment' or 'word'")
        return level

    @staticmethod
    def _instructions(value: Any) -> str | None:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or len(value) > MAX_INSTRUCTIONS_CHARS:
            raise InvalidOptionError(
                f"instructions must be a string of at most {MAX_INSTRUCTIONS_CHARS} characters"
            )
        return value.strip() or None

    def audio_format(self, value: Any) -> AudioFormat:
        return self.defaults.audio_format if value in (None, "") else parse_format(value)

    def decode(
        self,
        fields: Mapping[str, Any],
        *,
        clip: PromptClip | None = None,
        stream: bool = False,
        request_id: str = "",
        route: str = "internal",
    ) -> SynthesisRequest:
        """The request these fields describe; ``clip`` (from :meth:`prompt`) wins over a voice name."""
        voice = fields.get("voice")
        if voice is not None and not isinstance(voice, str):
            raise InvalidOptionError("voice must be a string")
        return SynthesisRequest(
            text=self.text(fields.get("text")),
            voice=VoiceSpec(name=None if clip is not None else (voice or None), clip=clip),
            options=self.options(fields, stream=stream),
            audio_format=self.audio_format(fields.get("format")),
            request_id=request_id,
            route=route,
        )

    def prompt(self, data: bytes, prompt_text: Any = None, name: str = "prompt_audio") -> PromptClip:
        """Decode and validate an uploaded prompt clip (blocking: call it off the event loop)."""
        return decode_prompt(
            data, prompt_text if isinstance(prompt_text, str) else None, self.limits.prompt, name
        )

    def prompt_file(
        self, path: str | Path, prompt_text: str | None = None, name: str | None = None
    ) -> PromptClip:
        """Read, decode and validate a prompt clip file."""
        return read_prompt(path, prompt_text, self.limits.prompt, name)
