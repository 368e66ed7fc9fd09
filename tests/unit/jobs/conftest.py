"""The jobs fixtures for this kind folder; they are defined in ``tests/support/jobs/fixtures.py``."""

from tests.support.jobs.fixtures import (  # noqa: F401
    fake_engine,
    fake_engine_name,
    job_root,
    runtime,
)
