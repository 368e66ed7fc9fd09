"""Scale-out on Ray (the ``glmtts[ray]`` extra): a fleet of always-warm replicas and batch jobs on Ray Data.

* ``glmtts serve --ray [--replicas N | --autoscale MIN:MAX]``: a local Ray instance, or the cluster at
  ``RAY_ADDRESS`` (:func:`glmtts.ray.fleet.run_fleet`);
* ``serve run glmtts.ray:build_app engine=kokoro replicas=2 workdir=/shared/glmtts``: the same application
  on an existing cluster (:func:`build_app`; KubeRay's ``serveConfigV2`` names it too);
* ``glmtts batch run FILE --ray``: a batch job on Ray Data (:mod:`glmtts.ray.batch`).

Importing this package does not import Ray; the modules that need it do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def build_app(args: Mapping[str, Any]) -> Any:
    """The Serve application builder: see :func:`glmtts.ray.fleet.build_app`."""
    from glmtts.ray.fleet import build_app as build

    return build(args)


__all__ = ["build_app"]
