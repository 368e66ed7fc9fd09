"""The kokoro fixtures for this kind folder; they are defined in ``tests/support/kokoro/fixtures.py``."""

from tests.support.kokoro.fixtures import (  # noqa: F401
    kokoro,
)
