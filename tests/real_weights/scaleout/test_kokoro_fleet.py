"""A kokoro replica on Ray Serve serves real speech through Ray's proxy, whole and streamed."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import soundfile as sf

from glmtts.serving.settings import ServeSettings
from tests.support.scaleout.fixtures import RayCluster

APP = "kokoro"
TEXT = "Hello from the fleet."


@pytest.fixture(scope="module")
def kokoro(ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    from ray import serve

    from glmtts.ray.fleet import fleet_app
    from glmtts.ray.options import FleetSettings

    settings = ServeSettings(
        engine="kokoro", workdir=tmp_path_factory.mktemp("kokoro"), ui=False, n_threads=1, log_requests=False
    )
    serve.run(fleet_app(settings, FleetSettings(replicas=1, num_cpus=0.5)), name=APP, route_prefix="/")
    with httpx.Client(base_url=ray_cluster.url, timeout=60.0) as client:
        try:
            yield client
        finally:
            serve.delete(APP)


def _check_speech(samples: np.ndarray, sample_rate: int) -> None:
    assert 0.5 < samples.size / sample_rate < 5.0
    assert np.sqrt(np.mean(samples**2)) > 0.01  # not silence
    spectrum = np.abs(np.fft.rfft(samples))
    peak_hz = np.argmax(spectrum) * sample_rate / (2 * (spectrum.size - 1))
    assert 60.0 < peak_hz < 4000.0  # voice band


def test_kokoro_replica_answers_a_whole_request(kokoro: httpx.Client) -> None:
    assert kokoro.get("/ready").status_code == 200
    response = kokoro.post("/v1/audio/speech", json={"input": TEXT, "response_format": "wav"})
    assert response.status_code == 200, response.text
    assert response.headers["x-glmtts-replica"]
    samples, sample_rate = sf.read(io.BytesIO(response.content))
    _check_speech(samples, sample_rate)


def test_kokoro_replica_streams_through_ray(kokoro: httpx.Client) -> None:
    body = {"input": TEXT, "response_format": "pcm", "stream": True}
    with kokoro.stream("POST", "/v1/audio/speech", json=body) as response:
        assert response.status_code == 200
        assert response.headers["x-glmtts-replica"]
        pieces = [piece for piece in response.iter_bytes() if piece]
    samples = np.frombuffer(b"".join(pieces), dtype="<i2").astype(np.float32) / 32768.0
    _check_speech(samples, 24000)
