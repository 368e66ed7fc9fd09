"""The glm fixtures for this kind folder; they are defined in ``tests/support/glm/fixtures.py``."""

from tests.support.glm.fixtures import (  # noqa: F401
    _single_torch_thread,
    glm_engine,
    ref_dir,
    tiny_ckpt,
)
