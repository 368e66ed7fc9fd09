"""Ray Serve fleet against plain ``glmtts serve``, in one run, with the fake engine.

Prints, side by side:
* per-request overhead: p50 latency of the same request through Ray (1 replica, Ray's HTTP proxy) and
  through plain ``glmtts serve``, both at concurrency 1 over one keep-alive connection — target: ratio
  <= 1.15 (the absolute difference in ms is printed too);
* throughput with 1 and with 2 replicas of a model-bound fake engine at concurrency 8 — target >= 1.8x.

The fake engine's ``delay_s`` stands in for the model (``--overhead-delay-s``, default 0.05 s: a short
sentence on a GPU; ``--throughput-delay-s``, default 0.2 s). It sleeps rather than computes, so the
throughput figure measures the fleet's routing and not how many cores the machine has.

Usage: ``python bench/ray_serve.py [--n 200] [--n-throughput 64] [--json OUT]``; ``RAY_SERVE_ENABLE_HA_PROXY=1``
measures Ray's HAProxy mode instead of its Python proxy.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
FAKE = "tests.support.fake_engine:FakeEngine"
BODY = {"input": "Hello there, this is one sentence.", "response_format": "wav"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(client: httpx.Client, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if client.get("/ready", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{client.base_url} not ready after {timeout_s} s")


def _latencies(client: httpx.Client, n: int) -> list[float]:
    for _ in range(5):  # the connection and the first requests
        client.post("/v1/audio/speech", json=BODY).raise_for_status()
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.post("/v1/audio/speech", json=BODY)
        response.raise_for_status()
        times.append(time.perf_counter() - started)
    return times


def plain_p50(n: int, delay_s: float, workdir: Path) -> float:
    """p50 of plain ``glmtts serve`` (a subprocess) at concurrency 1."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'src'}",
        "FAKE_ENGINE_DELAY_S": str(delay_s),
    }
    command = [sys.executable, "-m", "glmtts", "serve", "--port", str(port), "--workdir", str(workdir)]
    command += ["--engine", "fake", "--engine-class", FAKE, "--no-ui"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as client:
            _wait_ready(client)
            return statistics.median(_latencies(client, n))
    finally:
        process.terminate()
        process.wait(60)


def _deploy(replicas: int, delay_s: float, workdir: Path, max_queue: int = 16) -> None:
    from ray import serve

    from glmtts.ray.fleet import fleet_app
    from glmtts.ray.options import FleetSettings
    from glmtts.serving.settings import ServeSettings

    settings = ServeSettings(
        engine="fake", engine_class=FAKE, workdir=workdir, ui=False, log_requests=False,
        max_queue=max_queue, engine_options={"delay_s": delay_s},
    )  # fmt: skip
    fleet = FleetSettings(replicas=replicas, num_cpus=0.5)
    serve.run(fleet_app(settings, fleet), name="bench", route_prefix="/")


def throughput(client: httpx.Client, n: int, concurrency: int) -> tuple[float, int]:
    """Requests per second and the count of non-200 answers."""

    def one(_index: int) -> int:
        return client.post("/v1/audio/speech", json=BODY).status_code

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(concurrency)))  # warm every connection
        started = time.perf_counter()
        statuses = list(pool.map(one, range(n)))
    return n / (time.perf_counter() - started), sum(s != 200 for s in statuses)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="requests per latency series")
    parser.add_argument("--n-throughput", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--overhead-delay-s", type=float, default=0.05)
    parser.add_argument("--throughput-delay-s", type=float, default=0.2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sys.path[:0] = [str(REPO), str(REPO / "src")]
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray
    from ray import serve

    work = Path(tempfile.mkdtemp(prefix="glmtts-ray-bench-"))
    plain = plain_p50(args.n, args.overhead_delay_s, work / "plain")
    pythonpath = os.pathsep.join([str(REPO), str(REPO / "src")])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": pythonpath}})  # fmt: skip
    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    results: dict[str, Any] = {
        "proxy": "haproxy" if os.environ.get("RAY_SERVE_ENABLE_HA_PROXY") else "python"
    }
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120.0,
                          limits=httpx.Limits(max_connections=64)) as client:  # fmt: skip
            _deploy(1, args.overhead_delay_s, work / "ray")
            _wait_ready(client)
            on_ray = statistics.median(_latencies(client, args.n))
            rates = {}
            for replicas in (1, 2):
                _deploy(replicas, args.throughput_delay_s, work / "ray", max_queue=64)
                _wait_ready(client)
                rates[replicas] = throughput(client, args.n_throughput, args.concurrency)
    finally:
        serve.shutdown()
        ray.shutdown()
    ratio = on_ray / plain
    scale = rates[2][0] / rates[1][0]
    print(
        f"per-request p50 (engine {args.overhead_delay_s * 1000:.0f} ms, c=1, keep-alive, {results['proxy']} proxy)"
    )
    print(f"  plain glmtts serve  {plain * 1000:8.1f} ms")
    print(f"  Ray Serve, 1 rep.   {on_ray * 1000:8.1f} ms   (+{(on_ray - plain) * 1000:.1f} ms)")
    print(f"  ratio               {ratio:8.3f}      target <= 1.15: {'met' if ratio <= 1.15 else 'NOT met'}")
    print(f"throughput (engine {args.throughput_delay_s * 1000:.0f} ms, c={args.concurrency})")
    for replicas, (rate, errors) in rates.items():
        print(f"  {replicas} replica(s)        {rate:8.2f} req/s  non-200: {errors}")
    print(f"  2 vs 1              {scale:8.2f}x     target >= 1.8x: {'met' if scale >= 1.8 else 'NOT met'}")
    results.update(plain_p50_s=plain, ray_p50_s=on_ray, ratio=ratio, rates={k: v[0] for k, v in rates.items()},
                   scale=scale)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
