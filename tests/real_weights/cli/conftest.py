"""The cli fixtures for this kind folder; they are defined in ``tests/support/cli/fixtures.py``."""

from tests.support.cli.fixtures import (  # noqa: F401
    loaded_engine,
    shared_engine,
)
