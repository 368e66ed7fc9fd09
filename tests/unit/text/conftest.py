"""The text fixtures for this kind folder; they are defined in ``tests/support/text/fixtures.py``."""

from tests.support.text.fixtures import (  # noqa: F401
    frontend,
    harness_cases,
    official_frontend,
    reference_cases,
    text_cache_dir,
    xdg_cache_home,
)
