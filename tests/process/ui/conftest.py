"""The ui fixtures for this kind folder; they are defined in ``tests/support/ui/fixtures.py``."""

from tests.support.ui.fixtures import (  # noqa: F401
    artifacts_dir,
    ui_server,
)
