"""The KubeRay RayService manifests: the app they name builds, probes sit on the app's /ready and /health."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.support.deploy.deploy_support import DEPLOY_DIR

MANIFESTS = ["rayservice.yaml", "rayservice-gpu.yaml"]


def _documents(name: str) -> dict[str, dict[str, Any]]:
    with open(DEPLOY_DIR / "k8s" / name, encoding="utf-8") as handle:
        return {doc["kind"]: doc for doc in yaml.safe_load_all(handle) if doc}


def _serve_config(name: str) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(_documents(name)["RayService"]["spec"]["serveConfigV2"])
    return config


@pytest.mark.parametrize("name", MANIFESTS)
def test_rayservice_has_a_head_a_worker_group_and_the_glmtts_app(name: str) -> None:
    docs = _documents(name)
    assert docs["RayService"]["apiVersion"] == "ray.io/v1"
    assert docs["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteMany"]  # shared voices
    cluster = docs["RayService"]["spec"]["rayClusterConfig"]
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    (group,) = cluster["workerGroupSpecs"]
    assert group["minReplicas"] >= 1 and group["maxReplicas"] >= group["minReplicas"]
    (app,) = _serve_config(name)["applications"]
    assert app["import_path"] == "glmtts.ray:build_app" and app["route_prefix"] == "/"
    assert app["args"]["workdir"] == "/data"
    for spec in (cluster["headGroupSpec"]["template"]["spec"], group["template"]["spec"]):
        mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"]}
        assert claims[mounts["/data"]] == docs["PersistentVolumeClaim"]["metadata"]["name"]


@pytest.mark.parametrize("name", MANIFESTS)
def test_worker_probes_use_the_app_ready_and_health(name: str) -> None:
    cluster = _documents(name)["RayService"]["spec"]["rayClusterConfig"]
    container = cluster["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]
    port = _serve_config(name)["http_options"]["port"]
    assert {"name": "serve", "containerPort": port} in container["ports"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "serve"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600  # sized for load + warm-up


def test_gpu_variant_gives_each_replica_a_gpu_and_the_glm_engine() -> None:
    args = _serve_config("rayservice-gpu.yaml")["applications"][0]["args"]
    assert args["engine"] == "glm" and args["device"] == "cuda" and args["num_gpus"] == 1
    cluster = _documents("rayservice-gpu.yaml")["RayService"]["spec"]["rayClusterConfig"]
    resources = cluster["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == 1


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_manifest_args_build_the_application(name: str) -> None:
    pytest.importorskip("ray", reason="the glmtts[ray] extra is not installed")
    from glmtts.ray import build_app
    from glmtts.ray.options import FleetSettings

    args = _serve_config(name)["applications"][0]["args"]
    application = build_app({k: str(v) for k, v in args.items()})  # serve run passes strings
    deployment = application._bound_deployment
    assert deployment.max_ongoing_requests == int(args["max_queue"]) + 1
    autoscaling = deployment._deployment_config.autoscaling_config
    low, high = FleetSettings.from_mapping({"autoscale": args["autoscale"]}).autoscale or (0, 0)
    assert (autoscaling.min_replicas, autoscaling.max_replicas) == (low, high)
