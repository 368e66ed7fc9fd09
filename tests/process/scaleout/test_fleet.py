"""A fleet of two fake-engine replicas on Ray Serve: warm before /ready, both serve, a killed replica is
replaced, overload is 429, a voice stored and a pronunciation edited through one replica are used by the
other."""

from __future__ import annotations

import concurrent.futures
import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.support.harness import fake_settings, tone
from tests.support.scaleout.fixtures import RayCluster

APP = "fleet"
SPEECH = "/v1/audio/speech"


def _speech(client: httpx.Client, text: str = "Hello there.", **fields: Any) -> httpx.Response:
    return client.post(SPEECH, json={"input": text, "response_format": "wav", **fields})


def _running(app: str = APP) -> int:
    from ray import serve

    application = serve.status().applications.get(app)
    if application is None:
        return 0
    return sum(d.replica_states.get("RUNNING", 0) for d in application.deployments.values())


def _replica_actors(app: str = APP) -> list[str]:
    import ray

    return sorted(
        actor["name"]
        for actor in ray.util.list_named_actors(all_namespaces=True)
        if actor["name"].startswith(f"SERVE_REPLICA::{app}#")
    )


@pytest.fixture(scope="module")
def fleet(ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from ray import serve

    from glmtts.ray.fleet import fleet_app
    from glmtts.ray.options import FleetSettings

    workdir = tmp_path_factory.mktemp("fleet")
    settings = fake_settings(
        workdir, max_queue=1, engine_options={"load_delay_s": 1.0, "delay_s": 0.15}, warmup_rounds=1
    )
    fleet_settings = FleetSettings(replicas=2, num_cpus=0.5, max_queued=2, health_check_period_s=1.0)
    samples: list[tuple[int, int]] = []
    done = threading.Event()
    client = httpx.Client(base_url=ray_cluster.url, timeout=10.0)

    def watch_ready() -> None:
        while not done.is_set():
            try:
                status = client.get("/ready", timeout=1.0).status_code
            except httpx.HTTPError:
                status = 0
            samples.append((status, _running()))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch_ready, daemon=True)
    watcher.start()
    serve.run(fleet_app(settings, fleet_settings), name=APP, route_prefix="/")
    # A bound, not a figure: two replicas start slowly on a loaded 2-core machine.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (samples and samples[-1][0] == 200):
        time.sleep(0.1)
    done.set()
    watcher.join()
    try:
        yield {"client": client, "ready_samples": samples, "workdir": workdir}
    finally:
        client.close()
        serve.delete(APP)


def test_ready_only_once_both_replicas_are_warm(fleet: dict[str, Any]) -> None:
    samples = fleet["ready_samples"]
    assert samples[-1][0] == 200
    # The replica count is read after each /ready answer: a 200 always came with both replicas RUNNING.
    assert all(running == 2 for status, running in samples if status == 200)
    assert any(status != 200 for status, _ in samples)


def test_both_replicas_serve_and_name_themselves(fleet: dict[str, Any]) -> None:
    client = fleet["client"]
    names = set()
    for _ in range(16):
        response = _speech(client)
        assert response.status_code == 200
        samples, rate = sf.read(io.BytesIO(response.content))
        assert rate == 24000 and samples.size > 0.3 * rate and np.sqrt(np.mean(samples**2)) > 0.01
        names.add(response.headers["x-glmtts-replica"])
    assert len(names) == 2
    assert client.get("/health").headers["x-glmtts-replica"] in names


def test_a_voice_stored_through_one_replica_is_used_by_the_other(fleet: dict[str, Any]) -> None:
    client = fleet["client"]
    clip = io.BytesIO()
    sf.write(clip, tone(3.0, f0_hz=300.0), 24000, format="WAV")
    added = client.post(
        "/v1/voices", data={"name": "shared", "text": "hi"}, files={"audio": ("v.wav", clip.getvalue())}
    )
    assert added.status_code == 201, added.text
    stored_by = added.headers["x-glmtts-replica"]
    served_by = set()
    for _ in range(16):
        response = _speech(client, voice="shared")
        assert response.status_code == 200, response.text
        served_by.add(response.headers["x-glmtts-replica"])
        samples, rate = sf.read(io.BytesIO(response.content))
        spectrum = np.abs(np.fft.rfft(samples))
        assert abs(np.argmax(spectrum) * rate / (2 * (spectrum.size - 1)) - 300.0) < 10.0  # the clip's f0
    assert served_by - {stored_by}


def test_a_pronunciation_edit_through_one_replica_reaches_the_other(fleet: dict[str, Any]) -> None:
    client = fleet["client"]
    edit = '{"GLM": "G L M"}\n{"弈": "<|I4|>"}\n'
    put = client.put(
        "/v1/pronunciations", content=edit.encode(), headers={"content-type": "application/x-ndjson"}
    )
    assert put.status_code == 200 and put.json() == {"n_entries": 2}
    edited_by = put.headers["x-glmtts-replica"]
    seen_by = set()
    for _ in range(16):
        got = client.get("/v1/pronunciations")
        assert got.status_code == 200
        assert [json.loads(line) for line in got.text.splitlines()] == [{"GLM": "G L M"}, {"弈": "<|I4|>"}]
        seen_by.add(got.headers["x-glmtts-replica"])
    assert seen_by - {edited_by}


def test_overload_answers_429_with_retry_after_never_hangs(fleet: dict[str, Any]) -> None:
    client = fleet["client"]
    long_text = " ".join(["A sentence to speak."] * 4)
    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        responses = list(pool.map(lambda _i: _speech(client, long_text), range(24)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429}
    assert statuses.count(200) >= 4 and statuses.count(429) >= 1
    refused = next(r for r in responses if r.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1


def test_a_killed_replica_is_replaced_and_requests_keep_succeeding(fleet: dict[str, Any]) -> None:
    import ray

    client = fleet["client"]
    before = _replica_actors()
    assert len(before) == 2
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                statuses.append(_speech(client).status_code)
            except httpx.HTTPError:
                statuses.append(0)

    workers = [threading.Thread(target=load) for _ in range(2)]
    for worker in workers:
        worker.start()
    time.sleep(0.5)
    ray.kill(ray.get_actor(before[0], namespace="serve"), no_restart=True)
    deadline = time.monotonic() + 120  # a bound, as above
    while time.monotonic() < deadline:
        actors = _replica_actors()
        if before[0] not in actors and len(actors) == 2 and _running() == 2:
            break
        time.sleep(0.2)
    after_replaced = len(statuses)
    time.sleep(1.0)
    stop.set()
    for worker in workers:
        worker.join()
    assert before[0] not in _replica_actors() and _running() == 2
    failures = [s for s in statuses if s != 200]
    # Only requests in flight on the killed replica may fail (2 client threads: at most 2 of them).
    assert len(failures) <= 2, statuses
    assert all(s == 200 for s in statuses[after_replaced:])
    assert len(statuses) - after_replaced >= 2
