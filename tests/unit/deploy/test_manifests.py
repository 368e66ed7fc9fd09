"""Kubernetes manifests parse and carry the probes; the systemd unit verifies."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.deploy.deploy_support import DEPLOY_DIR


def _documents(name: str) -> dict[str, dict[str, Any]]:
    with open(DEPLOY_DIR / "k8s" / name, encoding="utf-8") as handle:
        return {doc["kind"]: doc for doc in yaml.safe_load_all(handle) if doc}


@pytest.mark.parametrize("name", ["deployment.yaml", "deployment-gpu.yaml"])
def test_deployment_has_startup_readiness_liveness_probes_and_resources(name: str) -> None:
    docs = _documents(name)
    assert {"Deployment", "Service", "PersistentVolumeClaim"} <= set(docs)
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["args"][0] == "serve" and "0.0.0.0" in container["args"]
    startup, ready, live = container["startupProbe"], container["readinessProbe"], container["livenessProbe"]
    assert startup["httpGet"]["path"] == "/ready" and ready["httpGet"]["path"] == "/ready"
    assert live["httpGet"]["path"] == "/health"
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600  # sized for model load + warm-up
    assert container["ports"][0]["containerPort"] == 7860
    assert (
        {"cpu", "memory"} <= set(container["resources"]["requests"]) <= set(container["resources"]["limits"])
    )
    assert pod["terminationGracePeriodSeconds"] >= 30
    service = docs["Service"]["spec"]
    assert service["selector"] == docs["Deployment"]["spec"]["selector"]["matchLabels"]
    assert service["ports"][0]["targetPort"] == "http"


def test_gpu_variant_requests_a_gpu_and_the_glm_engine() -> None:
    container = _documents("deployment-gpu.yaml")["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    args = container["args"]
    assert args[args.index("--engine") + 1] == "glm" and args[args.index("--device") + 1] == "cuda"


def test_systemd_unit_settings() -> None:
    text = (DEPLOY_DIR / "systemd" / "glmtts.service").read_text()
    for line in ("Restart=on-failure", "KillSignal=SIGTERM", "RestartPreventExitStatus=2"):
        assert line in text
    assert "wait_ready.sh http://127.0.0.1:7860/ready" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_unit_verifies(tmp_path: Path) -> None:
    glmtts_bin = Path(sys.executable).with_name("glmtts")
    unit = (DEPLOY_DIR / "systemd" / "glmtts.service").read_text()
    unit = unit.replace("/opt/glmtts/.venv/bin/glmtts", str(glmtts_bin))
    unit = unit.replace("/opt/glmtts/deploy/wait_ready.sh", str(DEPLOY_DIR / "wait_ready.sh"))
    unit = unit.replace("User=glmtts", "User=root").replace("Group=glmtts", "Group=root")
    path = tmp_path / "glmtts.service"
    path.write_text(unit)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60
    )
    problems = [line for line in result.stderr.splitlines() if "glmtts.service" in line]
    assert result.returncode == 0 and problems == [], result.stderr
