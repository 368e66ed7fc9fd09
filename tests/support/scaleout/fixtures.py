"""One local Ray instance for the whole folder (2 CPUs, no dashboard) with Serve on a free port.

Every test here is marked ``ray`` (``-m ray`` selects them, ``-m 'not ray'`` leaves them out). Replicas and
Ray Data workers are separate processes: they find ``glmtts`` and the fake engine through ``PYTHONPATH``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.harness import REPO_ROOT, free_port

pytest.importorskip("ray", reason="the glmtts[ray] extra is not installed")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "scaleout" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.ray)


class RayCluster:
    """The session's Ray instance and the URL of its Serve proxy."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"


_SHARED: list[RayCluster] = []  # the one instance, whichever kind folder's conftest asked first


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    """The session's one Ray instance (several kind folders import this fixture; Ray starts once)."""
    import ray
    from ray import serve

    if _SHARED:
        yield _SHARED[0]
        return

    pythonpath = os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "src")])
    env: dict[str, Any] = {"env_vars": {"PYTHONPATH": pythonpath, "RAY_SERVE_LOG_TO_STDERR": "0"}}
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=env)
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    _SHARED.append(RayCluster(port))
    try:
        yield _SHARED[0]
    finally:
        serve.shutdown()
        ray.shutdown()
