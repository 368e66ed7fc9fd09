"""Turn loosely typed request fields into validated :class:`SynthesisOptions` and formats."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glmtts.audio import AudioFormat, parse_format
from glmtts.engines.base import SamplingOptions, SynthesisOptions
from glmtts.errors import InvalidOptionError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidOptionError(f"{name} must be true or false, got {str(value)[:40]!r}")


def parse_number(name: str, value: Any, kind: type[int] | type[float]) -> int | float:
    """Parse an int or float field; raise :class:`InvalidOptionError` with the field name otherwise."""
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


def build_options(fields: Mapping[str, Any], default_seed: int, max_chars: int) -> SynthesisOptions:
    """Options from request fields (``seed speed phoneme sampling temperature top_k top_p``)."""
    sampling_changes: dict[str, Any] = {}
    if fields.get("sampling") not in (None, ""):
        sampling_changes["strategy"] = str(fields["sampling"]).strip().lower()
    for name, kind in (("temperature", float), ("top_k", int), ("top_p", float)):
        if fields.get(name) not in (None, ""):
            sampling_changes[name] = parse_number(name, fields[name], kind)
    seed = fields.get("seed")
    speed = fields.get("speed")
    return SynthesisOptions(
        seed=default_seed if seed in (None, "") else int(parse_number("seed", seed, int)),
        speed=1.0 if speed in (None, "") else float(parse_number("speed", speed, float)),
        sampling=SamplingOptions(**sampling_changes),
        phoneme=parse_bool("phoneme", fields.get("phoneme", False)),
        max_chars=max_chars,
    )


def build_format(name: Any) -> AudioFormat:
    if not isinstance(name, str):
        raise InvalidOptionError("format must be a string")
    return parse_format(name)
