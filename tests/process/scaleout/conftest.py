"""The scaleout fixtures for this kind folder; they are defined in ``tests/support/scaleout/fixtures.py``."""

from tests.support.scaleout.fixtures import (  # noqa: F401
    pytest_collection_modifyitems,
    ray_cluster,
)
