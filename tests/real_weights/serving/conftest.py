"""The serving fixtures for this kind folder; they are defined in ``tests/support/serving/fixtures.py``."""

from tests.support.serving.fixtures import (  # noqa: F401
    server_factory,
)
