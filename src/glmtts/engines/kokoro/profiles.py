"""Voice profiles (pitch + mean spectral envelope) of the bundled style packs, measured once and cached.

Adaptation compares a prompt clip with each bundled voice. Each pack's profile comes from synthesizing
:data:`PROBE_TEXT` with it, which takes a few seconds, so the result is stored in the cache directory
keyed by the model's sha256 and :data:`PROFILE_VERSION`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from glmtts.atomic import atomic_write
from glmtts.engines.kokoro.adaptation import SpeakerProfile
from glmtts.engines.kokoro.assets import STYLE_PACK_NAMES

_LOGGER = logging.getLogger(__name__)

#: Bilingual text every pack speaks to be profiled; change it together with PROFILE_VERSION.
PROBE_TEXT = "今天天气很好，我们去公园散步吧。Nice to meet you."
PROFILE_VERSION = 3


class PackProfiles:
    """Loads the pack profiles from ``directory`` or measures and stores them."""

    def __init__(self, directory: Path, model_sha256: str) -> None:
        self.path = directory / f"pack-profiles-v{PROFILE_VERSION}-{model_sha256[:16]}.npz"

    def load(self) -> dict[str, SpeakerProfile] | None:
        """The cached profiles, or None when the cache is missing or unreadable."""
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                if all(name in archive.files for name in STYLE_PACK_NAMES):
                    return {name: SpeakerProfile.from_array(archive[name]) for name in STYLE_PACK_NAMES}
        except (OSError, ValueError) as exc:
            _LOGGER.debug("no usable pack profiles at %s (%s)", self.path, exc)
        return None

    def load_or_measure(self, measure: Callable[[str], SpeakerProfile]) -> dict[str, SpeakerProfile]:
        profiles = self.load()
        if profiles is not None:
            return profiles
        _LOGGER.warning(
            "measuring the voice profiles of the bundled style packs now (once; "
            "'glmtts doctor --prepare' does this at set-up)"
        )
        profiles = {name: measure(name) for name in STYLE_PACK_NAMES}
        arrays: dict[str, Any] = {name: profile.to_array() for name, profile in profiles.items()}
        with atomic_write(self.path) as handle:
            np.savez(handle, **arrays)
        return profiles
