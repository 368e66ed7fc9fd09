"""Input validation: whole-file errors, per-line reasons with line numbers, path confinement, zip safety."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from glmtts.errors import InvalidBatchError, PayloadTooLargeError, UnknownVoiceError, UnsupportedMediaError
from glmtts.jobs.input import InputLimits, PromptResolver, describe_problems, parse_batch_input
from glmtts.jobs.uploads import UploadLimits, extract_prompt_zip
from glmtts.synthesis import Limits, RequestDecoder
from tests.support.jobs.fixtures import item, jsonl_bytes


def _parse(data: bytes, root: Path, **kwargs):
    return parse_batch_input(data, PromptResolver([root]), **kwargs)


@pytest.mark.parametrize(
    ("data", "error", "fragment"),
    [
        (b"", InvalidBatchError, "empty"),
        (b"\n  \n\n", InvalidBatchError, "empty"),
        (b"RIFF\x00\x00WAVEfmt \xff\xfe", InvalidBatchError, "not UTF-8"),
        (b"uttid,syn_text\n0,hello\n", InvalidBatchError, "line 1: not valid JSON"),
        (b"[1, 2]\n", InvalidBatchError, "expected a JSON object"),
    ],
)
def test_whole_file_errors(job_root, data, error, fragment):
    with pytest.raises(error, match=fragment):
        _parse(data, job_root)


def test_100k_lines_is_refused_quickly(job_root):
    data = jsonl_bytes([item("0", "x.")]) * 100_000
    with pytest.raises(PayloadTooLargeError, match="100000 lines; at most 10000"):
        parse_batch_input(data, PromptResolver([job_root]), limits=InputLimits(max_bytes=64 * 1024 * 1024))
    with pytest.raises(PayloadTooLargeError, match="bytes; at most 1000000"):
        parse_batch_input(data, PromptResolver([job_root]), limits=InputLimits(max_bytes=1_000_000))


class _Checks:
    """Request-level line checks with a 5000-character text limit and one known voice."""

    decoder = RequestDecoder(limits=Limits(max_text_chars=5000))

    def text(self, value: object) -> str:
        return self.decoder.text(value)

    def voice(self, name: str) -> None:
        if name != "fake_f":
            raise UnknownVoiceError(f"unknown voice {name!r}")


def test_every_bad_line_is_reported_with_its_number_and_reason(job_root, tmp_path):
    outside = tmp_path / "secret.wav"
    outside.write_bytes(b"x")
    (job_root / "link.wav").symlink_to(outside)
    records = [
        item("0", "fine."),
        "{not json",
        item("0", "duplicate."),
        {"uttid": "3", "prompt_speech": "prompts/a.wav"},
        item("4", "escape.", "../secret.wav"),
        item("5", "absolute.", str(outside)),
        item("6", "symlink.", "link.wav"),
        item("7", "missing.", "prompts/nope.wav"),
        item("../8", "unsafe id."),
        {"uttid": "9", "syn_text": "no prompt."},
        {"uttid": "10", "voice": "ghost", "syn_text": "unknown voice."},
        {"uttid": "11", "syn_text": "   ", "voice": "fake_f"},
        item("12", "y" * 6000),
        item("13", "also fine.", "prompts/b.wav"),
    ]
    batch = _parse(jsonl_bytes(records), job_root, checks=_Checks())
    assert batch.n_valid == 2
    reasons = {i.line_no: i.error.message for i in batch.items if i.error}
    assert "not valid JSON" in reasons[2]
    assert reasons[3] == "duplicate uttid '0' (first on line 1)"
    assert reasons[4] == "missing field 'syn_text'"
    for line_no in (5, 6, 7):
        assert "outside the job root" in reasons[line_no]
    assert "not found" in reasons[8]
    assert "not a safe file name" in reasons[9]
    assert "missing field 'prompt_speech'" in reasons[10]
    assert reasons[11] == "unknown voice 'ghost'"
    assert reasons[12] == "syn_text is empty"
    assert "at most 5000" in reasons[13]
    assert describe_problems(batch.rejected, limit=2).endswith("… and 10 more")
    assert [i.uttid for i in batch.items if i.error is None] == ["0", "13"]


def test_resolver_tries_roots_in_order(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    (second / "p").mkdir(parents=True)
    (second / "p" / "x.wav").write_bytes(b"RIFF")
    first.mkdir()
    assert PromptResolver([first, second]).resolve("p/x.wav") == (second / "p" / "x.wav").resolve()


def _zip(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize(
    ("members", "symlinks", "fragment"),
    [
        ({"prompts/a.wav": b"ok", "../evil.wav": b"x"}, None, "zip-slip"),
        ({"/abs/evil.wav": b"x"}, None, "zip-slip"),
        ({"prompts/../../evil.wav": b"x"}, None, "zip-slip"),
        ({"C:/evil.wav": b"x"}, None, "zip-slip"),
        ({"dir\\..\\evil.wav": b"x"}, None, "not a safe relative path"),
        ({"ok.wav": b"x"}, {"link.wav": "/etc/passwd"}, "symbolic link"),
    ],
)
def test_unsafe_zip_members_reject_the_upload_and_write_nothing(tmp_path, members, symlinks, fragment):
    dest = tmp_path / "job" / "files"
    with pytest.raises(InvalidBatchError, match=fragment):
        extract_prompt_zip(_zip(members, symlinks), dest)
    assert not dest.exists()
    assert sorted(os.listdir(tmp_path)) == []


def test_zip_bomb_and_limits(tmp_path):
    bomb = _zip({"bomb.wav": b"\x00" * (20 * 1024 * 1024)})
    with pytest.raises(PayloadTooLargeError, match="compression ratio"):
        extract_prompt_zip(bomb, tmp_path / "a")
    many = _zip({f"{i}.wav": b"x" for i in range(30)})
    with pytest.raises(PayloadTooLargeError, match="entries"):
        extract_prompt_zip(many, tmp_path / "b", UploadLimits(max_members=10))
    big = _zip({"big.wav": os.urandom(4096)})
    with pytest.raises(PayloadTooLargeError, match="at most 1000 per file"):
        extract_prompt_zip(big, tmp_path / "c", UploadLimits(max_member_bytes=1000))
    with pytest.raises(UnsupportedMediaError, match="not a readable zip"):
        extract_prompt_zip(io.BytesIO(b"PK but not really a zip"), tmp_path / "d")
    assert not any((tmp_path / name).exists() for name in "abcd")


def test_safe_zip_extracts_into_the_job_root(tmp_path):
    dest = tmp_path / "files"
    names = extract_prompt_zip(_zip({"prompts/a.wav": b"aaa", "./b.wav": b"bb", "dir/": b""}), dest)
    assert sorted(names) == ["b.wav", "prompts/a.wav"]
    assert (dest / "prompts" / "a.wav").read_bytes() == b"aaa"
