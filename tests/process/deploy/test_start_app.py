"""deploy/start_app.sh supervises a real server (fake engine); nginx proxies it over TLS, streaming."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.deploy.deploy_support import DEPLOY_DIR, FAKE_ENGINE_CLASS, REPO_ROOT, free_port, wait_for


@dataclass
class Supervised:
    process: subprocess.Popen[bytes]
    run_dir: Path
    url: str

    def server_pid(self) -> int:
        return int((self.run_dir / "glmtts-server.pid").read_text())

    def log(self) -> str:
        return (self.run_dir / "glmtts.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def supervised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervised]:
    run_dir = tmp_path_factory.mktemp("run")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "src")]),
        "GLMTTS_VENV": str(Path(sys.executable).parents[1]),
        "GLMTTS_SERVE_CMD": f"{sys.executable} -m glmtts serve",
        "GLMTTS_RUN_DIR": str(run_dir),
        "GLMTTS_LOG_MAX_BYTES": "1500",
        "GLMTTS_LOG_BACKUPS": "2",
        "GLMTTS_ENGINE": "fake",
        "GLMTTS_ENGINE_CLASS": FAKE_ENGINE_CLASS,
        "GLMTTS_ENGINE_OPTIONS": '{"segment_delay_s": 0.2}',
        "GLMTTS_UI": "false",
        "GLMTTS_WARMUP_ROUNDS": "0",
        "GLMTTS_PORT": str(port),
        "GLMTTS_WORKDIR": str(run_dir / "work"),
    }
    process = subprocess.Popen([str(DEPLOY_DIR / "start_app.sh")], env=env, cwd=run_dir)
    supervised = Supervised(process, run_dir, f"http://127.0.0.1:{port}")
    wait_for(f"{supervised.url}/ready", timeout_s=90)
    yield supervised
    if process.poll() is None:
        process.kill()
        process.wait(10)


def test_supervisor_starts_the_server_with_pid_files_and_log(supervised: Supervised) -> None:
    assert int((supervised.run_dir / "glmtts.pid").read_text()) == supervised.process.pid
    assert supervised.server_pid() != supervised.process.pid
    assert "start_app: starting" in supervised.log() or (supervised.run_dir / "glmtts.log.1").exists()


def _nginx_conf(tmp_path: Path, backend_port: int) -> tuple[Path, int]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    https_port, http_port = free_port(), free_port()
    site = (DEPLOY_DIR / "nginx" / "glmtts.conf").read_text()
    site = site.replace("/etc/glmtts/tls/fullchain.pem", str(cert)).replace(
        "/etc/glmtts/tls/privkey.pem", str(key)
    )
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("server 127.0.0.1:7860;", f"server 127.0.0.1:{backend_port};")
    (tmp_path / "glmtts.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = f"""{user}worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
daemon off;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/glmtts.conf;
}}
"""
    path = tmp_path / "nginx.conf"
    path.write_text(main)
    return path, https_port


@pytest.mark.skipif(
    shutil.which("nginx") is None or shutil.which("openssl") is None, reason="nginx/openssl missing"
)
def test_nginx_config_is_valid_and_streams_over_tls(supervised: Supervised, tmp_path: Path) -> None:
    conf, https_port = _nginx_conf(tmp_path, int(supervised.url.rsplit(":", 1)[1]))
    checked = subprocess.run(
        ["nginx", "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True
    )
    assert checked.returncode == 0 and "syntax is ok" in checked.stderr, checked.stderr
    nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp_path)], stderr=subprocess.PIPE)
    try:
        base = f"https://127.0.0.1:{https_port}"
        wait_for(f"{base}/ready", timeout_s=20, verify=False)
        body = {
            "input": "One two. Three four. Five six. Seven eight.",
            "response_format": "pcm",
            "stream": True,
        }
        started = time.monotonic()
        first_at = None
        n_bytes = 0
        with (
            httpx.Client(verify=False, timeout=30) as client,
            client.stream("POST", f"{base}/v1/audio/speech", json=body) as response,
        ):
            assert response.status_code == 200
            for data in response.iter_bytes():
                first_at = first_at or time.monotonic() - started
                n_bytes += len(data)
        total_s = time.monotonic() - started
        assert n_bytes > 0 and first_at is not None and first_at < total_s - 0.35, (first_at, total_s)
    finally:
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(10)


def test_killed_server_is_restarted_until_ready(supervised: Supervised) -> None:
    first_pid = supervised.server_pid()
    os.kill(first_pid, signal.SIGKILL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if supervised.server_pid() != first_pid:
                break
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.1)
    wait_for(f"{supervised.url}/ready", timeout_s=90)
    assert supervised.server_pid() != first_pid
    logs = supervised.log() + "".join(
        p.read_text(errors="replace") for p in supervised.run_dir.glob("glmtts.log.*")
    )
    assert "exited with -9" in logs or "exited with 137" in logs
    rotated = supervised.run_dir / "glmtts.log.1"
    deadline = time.monotonic() + 10  # the supervisor checks the log size once a second
    while not rotated.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rotated.exists()  # rotated at the 1500-byte limit


def test_sigterm_stops_server_and_supervisor_cleanly(supervised: Supervised) -> None:
    server_pid = supervised.server_pid()
    supervised.process.send_signal(signal.SIGTERM)
    assert supervised.process.wait(60) == 0
    with pytest.raises(ProcessLookupError):
        os.kill(server_pid, 0)
    assert not (supervised.run_dir / "glmtts.pid").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{supervised.url}/health", timeout=2)
