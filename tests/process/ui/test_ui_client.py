"""The WebUI driven through its Gradio API (``gradio_client``) against a real server process."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.support.ui.ui_helpers import SAMPLE_RATE, UiServer, write_tone

SAMPLING_DEFAULTS = ("ras", 1.0, 25, 0.8)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def client(ui_server: UiServer, downloads: Path) -> Iterator[Client]:
    yield Client(ui_server.ui_url, verbose=False, download_files=str(downloads))


def synthesize(client: Client, text: str, **form: Any) -> tuple[Any, ...]:
    """Call the Synthesize tab's endpoint with defaults for everything not given."""
    values = {
        "source": "Voice", "voice": "default", "prompt_clip": None, "prompt_text": "", "seed": 42,
        "speed": 1.0, "phoneme": False, "audio_format": "wav", "stream": False,
    } | form  # fmt: skip
    args = [text, *values.values(), *SAMPLING_DEFAULTS]
    return tuple(client.predict(*args, api_name="/synthesize"))


def decode_file(path: str) -> tuple[np.ndarray, int]:
    samples, sample_rate = sf.read(path, dtype="float32")
    return samples, int(sample_rate)


def dominant_hz(samples: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.argmax(spectrum[1:]) + 1) * sample_rate / samples.size


def level_dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(samples))) + 1e-12))


def wait_job_finished(client: Client, job_id: str, timeout_s: float = 30.0) -> tuple[Any, ...]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        progress, items, archive, _timer = client.predict(job_id, api_name="/batch_status")
        if archive:
            return progress, items, archive
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish: {progress}")


def submit_batch(client: Client, path: Path, zip_path: Path | None = None) -> str:
    jsonl = handle_file(str(path))
    prompts = handle_file(str(zip_path)) if zip_path else None
    job, *_ = client.predict(jsonl, prompts, 42, False, api_name="/batch_submit")
    return str(job["value"])


def test_streamed_synthesis_returns_audio_in_the_chosen_format(client: Client) -> None:
    _stream, playback, download, timings, _captions = synthesize(
        client, "Hello there. How are you?", audio_format="flac", stream=True
    )
    assert download.endswith(".flac") and playback.endswith(".wav")
    samples, sample_rate = decode_file(download)
    assert sample_rate == SAMPLE_RATE
    assert 0.8 < samples.size / sample_rate < 1.3  # two sentences of the fake engine: 0.48 s + 0.48 s
    assert level_dbfs(samples) > -25
    played, _ = decode_file(playback)
    assert np.allclose(played, samples, atol=2e-4)
    assert "Time to first audio" in timings and "RTF" in timings


def test_synthesize_needs_only_the_text(client: Client) -> None:
    """Every parameter of ``/synthesize`` has a declared default (the prompt clip and transcript too)."""
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/synthesize"]
    defaults = {p["parameter_name"]: p["parameter_has_default"] for p in info["parameters"]}
    assert defaults["prompt_clip"] and defaults["prompt_text"] and all(defaults.values()), defaults
    _stream, _playback, download, _timings, captions = client.predict("Only text.", api_name="/synthesize")
    assert 'data-start="0.000"' in captions and "Only text." in captions
    samples, sample_rate = decode_file(download)
    assert sample_rate == SAMPLE_RATE and samples.size > 0.2 * sample_rate and level_dbfs(samples) > -25


def test_same_seed_gives_the_same_audio_and_voices_differ(client: Client) -> None:
    first = decode_file(synthesize(client, "Same words.", voice="fake_m")[2])[0]
    again = decode_file(synthesize(client, "Same words.", voice="fake_m")[2])[0]
    other = decode_file(synthesize(client, "Same words.", voice="fake_f")[2])[0]
    assert np.array_equal(first, again)
    assert dominant_hz(first, SAMPLE_RATE) == pytest.approx(120, abs=6)
    assert dominant_hz(other, SAMPLE_RATE) == pytest.approx(220, abs=6)


def test_prompt_clip_sets_the_voice(client: Client, tmp_path: Path) -> None:
    clip = handle_file(str(write_tone(tmp_path / "prompt.wav", f0_hz=180.0)))
    result = synthesize(client, "Cloned voice.", source="Prompt clip", prompt_clip=clip, prompt_text="a tone")
    samples, sample_rate = decode_file(result[2])
    assert dominant_hz(samples, sample_rate) == pytest.approx(180, abs=6)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"text": "   "}, "text is empty"),
        ({"text": "Hi.", "voice": "nobody"}, "unknown voice 'nobody'"),
        ({"text": "Hi.", "source": "Prompt clip"}, "upload or record a prompt clip"),
        ({"text": "Hi.", "audio_format": "aiff"}, "not in the list of choices"),
        ({"text": "Hi.", "seed": 2**32}, "seed must be an integer"),
        ({"text": "Hi.", "seed": -1}, "less than minimum value"),
    ],
)
def test_bad_input_is_a_readable_message(client: Client, form: dict[str, Any], message: str) -> None:
    with pytest.raises(AppError) as caught:
        synthesize(client, **form)
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_batch_returns_a_zip_with_per_item_errors(client: Client, tmp_path: Path) -> None:
    write_tone(tmp_path / "a.wav", f0_hz=200.0)
    prompts = tmp_path / "prompts.zip"
    with zipfile.ZipFile(prompts, "w") as archive:
        archive.write(tmp_path / "a.wav", "clips/a.wav")
    lines = [
        {"uttid": "one", "voice": "fake_f", "syn_text": "First line."},
        {"uttid": "two", "prompt_speech": "clips/a.wav", "prompt_text": "a tone", "syn_text": "Second line."},
        {"uttid": "bad", "voice": "fake_f", "syn_text": "..."},
    ]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    progress, items, archive_path = wait_job_finished(client, submit_batch(client, batch, prompts))
    assert "**done**" in progress and "2 done, 1 failed" in progress
    states = {row[1]: (row[2], row[4]) for row in items["data"]}
    assert states["one"] == ("done", "") and states["two"][0] == "done"
    assert states["bad"][0] == "failed" and "nothing_to_say" in states["bad"][1]
    with zipfile.ZipFile(archive_path) as archive:
        names = set(archive.namelist())
        assert {"one.wav", "two.wav", "results.jsonl"} <= names
        cloned, sample_rate = sf.read(io.BytesIO(archive.read("two.wav")), dtype="float32")
    assert dominant_hz(cloned, sample_rate) == pytest.approx(200, abs=6)


def test_bad_batch_file_is_a_readable_message(client: Client, tmp_path: Path) -> None:
    batch = tmp_path / "bad.jsonl"
    batch.write_text("this is not json\n", encoding="utf-8")
    with pytest.raises(AppError, match="no valid line"):
        submit_batch(client, batch)


def test_voices_add_preview_delete(client: Client, tmp_path: Path) -> None:
    clip = handle_file(str(write_tone(tmp_path / "v.wav", f0_hz=160.0)))
    table, _picked, message = client.predict("ui-test-voice", clip, "a tone", False, api_name="/add_voice")
    assert "Stored voice **ui-test-voice**" in message
    assert [row[0] for row in table["data"]] == ["ui-test-voice"]
    samples, sample_rate = decode_file(client.predict("ui-test-voice", "Preview.", api_name="/preview_voice"))
    assert dominant_hz(samples, sample_rate) == pytest.approx(160, abs=6)
    with pytest.raises(AppError, match="only stored voices"):
        client.predict("fake_f", api_name="/delete_voice")
    table, _picked, message = client.predict("ui-test-voice", api_name="/delete_voice")
    assert "Deleted voice **ui-test-voice**" in message and "ui-test-voice" not in str(table["data"])


def test_pronunciation_edit_and_preview(client: Client) -> None:
    text, status = client.predict('{"重": "chong2"}\n', api_name="/save_dictionary")
    # The plain pinyin form is accepted and stored as upstream phoneme tokens.
    assert "Saved 1 entries" in status and json.loads(text) == {"重": "<|CH|><|ONG2|>"}
    normalized, segments = client.predict("重新来一遍", True, api_name="/preview_text")
    assert normalized.startswith("重新来一遍")
    assert "<|CH|><|ONG2|>" in segments["data"][0][3]
    with pytest.raises(AppError, match="dictionary:1: expected a JSON object"):
        client.predict("not json", api_name="/save_dictionary")
    text, status = client.predict("", api_name="/save_dictionary")
    assert text == "" and "Saved 0 entries" in status


def test_system_status_and_memory_controls(client: Client) -> None:
    status, _syntheses, _requests = client.predict(api_name="/status")
    assert "**ready**" in status and "fake · cpu · float32" in status
    message, *_ = client.predict(api_name="/release_memory")
    assert "the engine freed **4.0 KiB**" in message
    message, status, *_tables = client.predict(api_name="/sleep")
    assert "now **sleeping**" in message and "976.6 KiB freed" in message
    with pytest.raises(AppError, match="sleeping"):
        synthesize(client, "Asleep.")
    message, status, *_tables = client.predict(api_name="/wake")
    assert "now **ready**" in message and "**ready**" in status
    assert synthesize(client, "Awake again.")[2].endswith(".wav")
    _status, syntheses, _requests = client.predict(api_name="/status")
    ui_row = next(row for row in syntheses["data"] if row[0] == "/ui")
    assert ui_row[1] >= 1 and 0 < ui_row[2] < 30


def test_interactive_requests_are_not_starved_by_a_batch_job(
    client: Client, ui_server: UiServer, downloads: Path, tmp_path: Path
) -> None:
    """While a 200-item job runs (20 s of model time), a UI synthesis is served between its items."""
    lines = [{"uttid": f"n{i}", "voice": "fake_m", "syn_text": f"Line number {i}."} for i in range(200)]
    batch = tmp_path / "long.jsonl"
    batch.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    job_id = submit_batch(client, batch)
    progress = ""
    deadline = time.monotonic() + 20
    while "**running**" not in progress and time.monotonic() < deadline:
        progress = client.predict(job_id, api_name="/batch_status")[0]
    assert "**running**" in progress
    interactive = Client(ui_server.ui_url, verbose=False, download_files=str(downloads))
    assert synthesize(interactive, "Not starved.")[2].endswith(".wav")
    progress, items, archive, _timer = client.predict(job_id, api_name="/batch_status")
    assert "**running**" in progress and archive is None, "the job should still be running"
    progress, items, archive, _timer = client.predict(job_id, api_name="/batch_cancel")
    deadline = time.monotonic() + 10
    while "**cancelled**" not in progress and time.monotonic() < deadline:
        progress, items, archive, _timer = client.predict(job_id, api_name="/batch_status")
    assert "**cancelled**" in progress
    assert any(row[2] == "cancelled" for row in items["data"])
