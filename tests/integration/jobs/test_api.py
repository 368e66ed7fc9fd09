"""The jobs HTTP routes inside the real app (fake engine): submit, progress, archive, cancel, bad input."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.jobs.fixtures import FAKE_ENGINE_PATH, item, jsonl_bytes, write_prompt

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from glmtts.serving.api.app import create_app  # noqa: E402
from glmtts.serving.settings import ServeSettings  # noqa: E402


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.chdir(tmp_path)
    settings = ServeSettings(
        engine="fake",
        engine_class=FAKE_ENGINE_PATH,
        engine_options={"delay_s": 0.01},
        workdir=tmp_path / "workdir",
        ui=False,
        warmup_rounds=0,
        log_requests=False,
    )
    with TestClient(create_app(settings)) as test_client:
        deadline = time.monotonic() + 20
        while test_client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, "server never became ready"
            time.sleep(0.05)
        while test_client.app.state.services.jobs._thread is None:  # started right after READY
            time.sleep(0.01)
        yield test_client


def _prompts_zip(tmp_path: Path) -> bytes:
    write_prompt(tmp_path / "clips" / "a.wav")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(tmp_path / "clips" / "a.wav", "prompts/a.wav")
        archive.writestr("prompts/not_audio.wav", b"definitely not audio" * 20)
    return buffer.getvalue()


def _wait(client: TestClient, job_id: str, timeout_s: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        document = client.get(f"/v1/jobs/{job_id}").json()
        if document["state"] in ("done", "failed", "cancelled"):
            return document
        assert time.monotonic() < deadline, document
        time.sleep(0.05)


def test_submit_run_and_download(client: TestClient, tmp_path: Path):
    records = [item(str(i), f"line {i}.") for i in range(30)]
    records[3] = item("3", "x.", "prompts/not_audio.wav")
    records[7] = item("7", "x.", "../../outside.wav")
    records[20] = {"uttid": "20", "voice": "fake_f", "syn_text": "a built-in voice."}
    records[21] = {"uttid": "21", "voice": "ghost", "syn_text": "unknown voice."}
    files = {
        "file": ("book.jsonl", jsonl_bytes(records), "application/x-ndjson"),
        "prompts": ("clips.zip", _prompts_zip(tmp_path), "application/zip"),
    }
    answer = client.post("/v1/jobs", files=files, data={"seed": "3", "job_id": "book-1"})
    assert answer.status_code == 202, answer.text
    assert answer.headers["location"] == "/v1/jobs/book-1"
    assert {f["line"] for f in answer.json()["failures"]} == {8, 22}
    document = _wait(client, "book-1")
    assert (
        document["state"] == "done" and document["counts"]["done"] == 27 and document["counts"]["failed"] == 3
    )
    assert document["options"]["seed"] == 3
    archive = client.get("/v1/jobs/book-1/archive")
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
        names = set(bundle.namelist())
        results = [json.loads(line) for line in bundle.read("results.jsonl").splitlines()]
    expected = {f"{i}.wav" for i in range(30) if i not in (3, 7, 21)}
    assert names == expected | {"results.jsonl"}
    assert sum(r["status"] == "done" for r in results) == 27
    assert (tmp_path / "outputs" / "batch" / "book-1.zip").is_file()
    assert [job["id"] for job in client.get("/v1/jobs").json()["jobs"]] == ["book-1"]
    assert client.post("/v1/jobs", files=files, data={"job_id": "book-1"}).status_code == 409

    assert client.delete("/v1/jobs/book-1", params={"purge": "true"}).json() == {
        "id": "book-1",
        "deleted": True,
    }
    assert client.get("/v1/jobs/book-1").status_code == 404
    assert not (tmp_path / "outputs" / "batch" / "book-1").exists()


def test_cancel_stops_new_items_promptly(client: TestClient):
    body = {"items": [{"uttid": str(i), "voice": "fake_f", "syn_text": f"line {i}."} for i in range(500)]}
    job_id = client.post("/v1/jobs", json=body).json()["id"]
    deadline = time.monotonic() + 10
    while client.get(f"/v1/jobs/{job_id}").json()["counts"]["done"] < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert client.delete(f"/v1/jobs/{job_id}").status_code == 200
    document = _wait(client, job_id, timeout_s=5)
    assert document["state"] == "cancelled"
    assert document["counts"]["done"] < 60 and document["counts"]["cancelled"] > 400
    with zipfile.ZipFile(io.BytesIO(client.get(f"/v1/jobs/{job_id}/archive").content)) as bundle:
        assert len(bundle.namelist()) == document["counts"]["done"] + 1


def _zip_slip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("prompts/a.wav", b"x")
        archive.writestr("../../../escaped.wav", b"x")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("files", "status", "error_type"),
    [
        ({"file": ("a.jsonl", b"this is not jsonl\nnor this\n")}, 400, "invalid_batch"),
        ({"file": ("a.jsonl", b"")}, 400, "invalid_batch"),
        ({"file": ("a.jsonl", jsonl_bytes([item("0", "x.")]) * 100_000)}, 413, "payload_too_large"),
        (
            {"file": ("a.jsonl", jsonl_bytes([item("0", "x.")])), "prompts": ("p.zip", _zip_slip())},
            400,
            "invalid_batch",
        ),
        (
            {"file": ("a.jsonl", jsonl_bytes([item("0", "x.")])), "prompts": ("p.zip", b"PK not a zip")},
            415,
            None,
        ),
        ({"file": ("a.jsonl", jsonl_bytes([item("0", "x.", "/etc/passwd")]))}, 400, "invalid_batch"),
    ],
)
def test_bad_input_gets_clear_errors_and_the_server_stays_up(
    client: TestClient, tmp_path: Path, files, status, error_type
):
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    answer = client.post("/v1/jobs", files=files)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"] and (error_type is None or error["type"] == error_type)
    after = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert [p for p in after if p not in before and "jobs.sqlite3" not in p] == []
    assert client.get("/health").status_code == 200
    assert client.get("/v1/jobs").json()["jobs"] == []


def test_archive_of_unknown_or_running_job(client: TestClient):
    assert client.get("/v1/jobs/nope/archive").json()["error"]["type"] == "not_found"
    assert client.get("/v1/jobs/..%2Fetc").status_code in (404, 422)
    body = {"items": [{"uttid": str(i), "voice": "fake_f", "syn_text": "x."} for i in range(300)]}
    job_id = client.post("/v1/jobs", json=body).json()["id"]
    assert client.get(f"/v1/jobs/{job_id}/archive").status_code == 409
    client.delete(f"/v1/jobs/{job_id}")


class _Borrowed:
    """Lends the test client to the CLI without re-running the app's lifespan."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def __enter__(self) -> TestClient:
        return self.client

    def __exit__(self, *exc_info: object) -> None:
        return None


def test_cli_submit_status_fetch_cancel(client: TestClient, tmp_path: Path, monkeypatch, capsys):
    from glmtts.cli import batch_remote as batch
    from glmtts.cli.main import main

    monkeypatch.setattr(batch, "_client", lambda args: _Borrowed(client))
    write_prompt(tmp_path / "here" / "clips" / "a.wav")
    book = tmp_path / "here" / "book.jsonl"
    book.write_bytes(
        jsonl_bytes(
            [item(str(i), f"line {i}.", "clips/a.wav") for i in range(5)] + [item("x", "y.", "../z.wav")]
        )
    )
    assert main(["batch", "submit", str(book), "--job-id", "cli-1", "--wait"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("cli-1\n") and "5 done, 1 failed" in out.out
    assert "line 6" in out.err and "outside the job root" in out.err
    assert main(["batch", "status", "cli-1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["done"] == 5
    target = tmp_path / "cli-1.zip"
    assert main(["batch", "fetch", "cli-1", "-o", str(target)]) == 0
    with zipfile.ZipFile(target) as bundle:
        assert len(bundle.namelist()) == 6
    assert main(["batch", "cancel", "cli-1", "--purge"]) == 0
    assert main(["batch", "status", "cli-1"]) == 2
    assert "server answered 404" in capsys.readouterr().err
