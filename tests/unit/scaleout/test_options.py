"""Fleet settings and the deployment options they give (no Ray instance needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmtts.errors import InvalidOptionError
from glmtts.ray.options import FleetSettings, deployment_options, parse_autoscale
from tests.support.harness import fake_settings


def test_max_ongoing_follows_the_worker_queue_and_overflow_is_429(tmp_path: Path) -> None:
    options = deployment_options(fake_settings(tmp_path, max_queue=7), FleetSettings(replicas=3))
    assert options["num_replicas"] == 3
    assert options["max_ongoing_requests"] == 8  # 7 waiting + the one running
    assert options["max_queued_requests"] == 7
    assert options["backpressure_config"] == {"status_code": 429, "retry_after_s": 1}


def test_autoscale_on_ongoing_requests_with_the_target_from_settings(tmp_path: Path) -> None:
    fleet = FleetSettings.from_mapping({"autoscale": "2:5", "target_ongoing": "3", "num_gpus": "1"})
    options = deployment_options(fake_settings(tmp_path), fleet)
    assert "num_replicas" not in options and fleet.min_replicas == 2
    assert options["autoscaling_config"] == {
        "min_replicas": 2, "initial_replicas": 2, "max_replicas": 5, "target_ongoing_requests": 3.0,
    }  # fmt: skip
    assert options["ray_actor_options"]["num_gpus"] == 1.0


@pytest.mark.parametrize("bad", ["3", "a:b", "0:2", "3:2"])
def test_bad_autoscale_is_refused(bad: str) -> None:
    with pytest.raises(InvalidOptionError):
        FleetSettings(autoscale=parse_autoscale(bad))


def test_unknown_fleet_keys_are_refused() -> None:
    with pytest.raises(InvalidOptionError, match="replica"):
        FleetSettings.from_mapping({"replica": 2})
