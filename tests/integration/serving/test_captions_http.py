"""Captions over HTTP (in process, fake engine): JSON with segments and words, SSE timing events, SRT and
VTT answers read back with real parsers, the word → segment fallback and the 4xx answers."""

from __future__ import annotations

import base64
import io
import itertools
import json
import time
from collections.abc import Iterator

import pytest
import srt
import webvtt
from fastapi.testclient import TestClient

from glmtts.serving.api.app import create_app
from tests.support.harness import fake_settings
from tests.support.serving.audio_checks import decode

TEXT = "Hello world. This is a test of captions! Last one?"
SENTENCES = ["Hello world.", "This is a test of captions!", "Last one?"]
RATE = 24000


def _client(tmp_path_factory: pytest.TempPathFactory, **engine_options: object) -> TestClient:
    settings = fake_settings(tmp_path_factory.mktemp("captions"), engine_options=engine_options)
    return TestClient(create_app(settings))


def _ready(client: TestClient) -> TestClient:
    deadline = time.monotonic() + 30
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, client.get("/v1/status").json()
        time.sleep(0.02)
    return client


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with _client(tmp_path_factory) as test_client:
        yield _ready(test_client)


@pytest.fixture(scope="module")
def word_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with _client(tmp_path_factory, word_timing=True) as test_client:
        yield _ready(test_client)


def _speech(client: TestClient, **body: object) -> object:
    return client.post("/v1/audio/speech", json={"input": TEXT, "voice": "alloy", **body})


def test_json_segments_time_the_returned_audio(client: TestClient) -> None:
    response = _speech(client, response_format="wav", timestamps="segment")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["format"] == "wav" and document["sample_rate"] == RATE
    assert document["timestamps"] == "segment" and document["warnings"] == []
    samples, rate = decode(base64.b64decode(document["audio"]))
    segments = document["segments"]
    assert [s["text"] for s in segments] == SENTENCES
    assert all(TEXT[s["char_start"] : s["char_end"]] == s["text"] for s in segments)
    assert segments[0]["start"] == 0.0 and all(s["words"] == [] for s in segments)
    assert all(a["end"] == pytest.approx(b["start"], abs=1e-4) for a, b in itertools.pairwise(segments))
    assert segments[-1]["end"] == pytest.approx(samples.size / rate, abs=1 / 1000)
    assert response.headers["x-timestamps"] == "segment"


def test_audio_alone_without_timestamps(client: TestClient) -> None:
    response = _speech(client, response_format="wav")
    assert response.headers["content-type"] == "audio/wav" and "x-timestamps" not in response.headers


def test_word_on_an_engine_without_word_timing_falls_back_and_says_so(client: TestClient) -> None:
    response = _speech(client, response_format="mp3", timestamps="word")
    document = response.json()
    assert response.status_code == 200 and document["timestamps"] == "segment"
    assert (
        "cannot time words" in document["warnings"][0]
        and "cannot time words" in response.headers["x-warnings"]
    )
    assert len(document["segments"]) == 3


def test_word_timing_is_monotonic_and_inside_segments(word_client: TestClient) -> None:
    document = _speech(word_client, response_format="flac", timestamps="word").json()
    assert document["timestamps"] == "word" and document["warnings"] == []
    for segment in document["segments"]:
        words = segment["words"]
        assert [w["text"] for w in words] == segment["text"].split()
        times = [t for w in words for t in (w["start"], w["end"])]
        assert times == sorted(times) and segment["start"] <= times[0] and times[-1] <= segment["end"]
        assert all(TEXT[w["char_start"] : w["char_end"]] == w["text"] for w in words)


def test_srt_and_vtt_answers_parse_with_real_parsers(client: TestClient) -> None:
    audio = decode(_speech(client, response_format="wav").content)[0]
    as_srt = _speech(client, response_format="srt")
    assert as_srt.status_code == 200 and as_srt.headers["content-type"].startswith("application/x-subrip")
    cues = list(srt.parse(as_srt.text))
    assert [c.content for c in cues] == SENTENCES
    assert cues[-1].end.total_seconds() == pytest.approx(audio.size / RATE, abs=1e-3)
    as_vtt = _speech(client, response_format="vtt", timestamps="word")
    assert as_vtt.headers["content-type"].startswith("text/vtt")
    assert as_vtt.headers["x-timestamps"] == "segment" and as_vtt.headers["x-warnings"]
    captions = webvtt.from_buffer(io.StringIO(as_vtt.text))
    assert [c.text for c in captions] == SENTENCES
    assert next(c.start for c in captions) == "00:00:00.000"


def test_native_tts_returns_captions_too(client: TestClient) -> None:
    response = client.post("/v1/tts", data={"text": TEXT, "format": "srt"})
    assert response.status_code == 200, response.text
    assert [c.content for c in srt.parse(response.text)] == SENTENCES
    document = client.post("/v1/tts", data={"text": TEXT, "format": "wav", "timestamps": "segment"}).json()
    assert [s["text"] for s in document["segments"]] == SENTENCES


def test_streamed_srt_equals_the_whole_file(client: TestClient) -> None:
    whole = _speech(client, response_format="srt").content
    with client.stream(
        "POST", "/v1/audio/speech", json={"input": TEXT, "response_format": "srt", "stream": True}
    ) as response:
        assert response.headers["content-type"].startswith("application/x-subrip")
        assert b"".join(response.iter_bytes()) == whole


def test_sse_timing_events_follow_their_audio(word_client: TestClient) -> None:
    response = _speech(word_client, response_format="pcm", stream_format="sse", timestamps="word")
    events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    kinds = [e["type"] for e in events]
    assert kinds == ["speech.audio.delta", "speech.timestamps"] * 3 + ["speech.audio.done"]
    n_samples = 0
    for event in events[:-1]:
        if event["type"] == "speech.audio.delta":
            n_samples += len(base64.b64decode(event["audio"])) // 2
        else:
            (segment,) = event["segments"]
            assert segment["end"] == pytest.approx(n_samples / RATE, abs=1e-4) and segment["words"]
    assert events[-1] == {"type": "speech.audio.done", "timestamps": "word", "warnings": []}


@pytest.mark.parametrize(
    "body",
    [
        {"timestamps": "letters"},
        {"timestamps": 5},
        {"timestamps": "none", "response_format": "srt"},
        {"response_format": "txt"},
    ],
)
def test_bad_timestamps_are_4xx_json(client: TestClient, body: dict[str, object]) -> None:
    response = _speech(client, **body)
    assert response.status_code in (400, 422), response.text
    assert response.json()["error"]["type"] in {"invalid_option", "unsupported_format"}
