"""End to end in headless Chromium (Debian ``/usr/bin/chromium`` through Playwright; nothing is downloaded).

Opens ``/`` (redirected to ``/ui``), synthesizes a sentence and sees the audio result, sees the captions
under the player with the one being heard highlighted as it seeks and plays, runs a 3-line batch
and downloads its zip, and saves screenshots of every tab to ``tests/artifacts/``.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.support.ui.ui_helpers import UiServer

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def page(ui_server: UiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/setup.sh does)")
    from playwright.sync_api import sync_playwright

    user_data = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            accept_downloads=True,
            viewport={"width": 1280, "height": 1000},
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context.new_page()
        finally:
            context.close()


def open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_root_redirects_to_the_ui_and_synthesis_shows_audio(
    page: Any, ui_server: UiServer, tmp_path: Path, artifacts_dir: Path
) -> None:
    page.goto(ui_server.url + "/", wait_until="domcontentloaded")
    assert page.url.rstrip("/").endswith("/ui")
    page.locator("#synth-text textarea").fill("Hello from the browser. Second sentence.")
    page.locator("#synth-button").click()
    timings = page.locator("#synth-timings")
    timings.get_by_text("Time to first audio").wait_for()
    assert "RTF" in timings.inner_text()
    page.locator("#synth-result audio[src]").first.wait_for(state="attached")
    link = page.locator('#synth-download a[download="speech.wav"]')
    with page.expect_download() as download_info:
        link.click()
    saved = tmp_path / "speech.wav"
    download_info.value.save_as(saved)
    samples, sample_rate = sf.read(saved, dtype="float32")
    assert 1.0 < samples.size / sample_rate < 2.5 and np.abs(samples).max() > 0.1
    page.screenshot(path=str(artifacts_dir / "ui-synthesize.png"), full_page=True)


#: Two sentences the text frontend keeps as two segments (each over its 30-unit minimum).
CAPTIONED = [
    "今天的天气非常好，阳光明媚，微风轻轻地吹过湖面，我们决定一起去公园散步。",
    "公园里有很多人在跑步，孩子们在草地上放风筝，老人们坐在长椅上聊天。",
]


def _current_cue(page: Any, text: str) -> None:
    page.locator("#synth-captions .glmtts-cue-current").get_by_text(text, exact=True).wait_for()


def test_captions_under_the_player_follow_playback(page: Any, artifacts_dir: Path) -> None:
    open_tab(page, "Synthesize")
    page.locator("#synth-text textarea").fill("".join(CAPTIONED))
    page.locator("#synth-button").click()
    cues = page.locator("#synth-captions .glmtts-cue")
    cues.nth(1).wait_for()
    assert cues.all_inner_texts() == CAPTIONED
    audio = page.locator("#synth-result audio[src]").first
    audio.wait_for(state="attached")
    page.wait_for_function("() => document.querySelector('#synth-result audio[src]').duration > 0")
    duration_s = audio.evaluate("a => a.duration")
    assert float(cues.nth(1).get_attribute("data-end") or 0) == pytest.approx(duration_s, abs=0.01)
    # seeking moves the highlight
    second_start = float(cues.nth(1).get_attribute("data-start") or 0)
    audio.evaluate("(a, t) => { a.currentTime = t; }", second_start + 0.1)
    _current_cue(page, CAPTIONED[1])
    assert page.locator("#synth-captions .glmtts-cue-current").count() == 1
    # so does playback: from the start, the first caption, then the second
    audio.evaluate("a => { a.muted = true; a.currentTime = 0; return a.play(); }")
    _current_cue(page, CAPTIONED[0])
    page.screenshot(path=str(artifacts_dir / "ui-captions.png"), full_page=True)
    _current_cue(page, CAPTIONED[1])
    audio.evaluate("a => a.pause()")


def test_bad_input_shows_a_readable_message(page: Any, artifacts_dir: Path) -> None:
    open_tab(page, "Synthesize")
    page.locator("#synth-text textarea").fill("   ")
    page.locator("#synth-button").click()
    page.get_by_text("text is empty").first.wait_for()
    page.screenshot(path=str(artifacts_dir / "ui-error.png"), full_page=True)
    assert "Traceback" not in page.content()


def test_batch_of_three_lines_offers_the_zip(page: Any, tmp_path: Path, artifacts_dir: Path) -> None:
    lines = [
        {"uttid": f"line{i}", "voice": "fake_f", "syn_text": f"Batch line number {i}."} for i in (1, 2, 3)
    ]
    batch = tmp_path / "three.jsonl"
    batch.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    open_tab(page, "Batch")
    page.locator("#batch-jsonl input[type=file]").set_input_files(str(batch))
    page.locator("#batch-jsonl").get_by_text("three.jsonl").wait_for()
    page.locator("#batch-run").click()
    page.locator("#batch-progress").get_by_text("3/3 finished (3 done, 0 failed)").wait_for()
    link = page.locator("#batch-archive a[download$='.zip']")
    with page.expect_download() as download_info:
        link.click()
    saved = tmp_path / "results.zip"
    download_info.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert {"line1.wav", "line2.wav", "line3.wav", "results.jsonl"} <= set(archive.namelist())
    page.screenshot(path=str(artifacts_dir / "ui-batch.png"), full_page=True)


@pytest.mark.parametrize(("tab", "marker"), [("Voices", "Add a voice"), ("Pronunciation", "Preview a text")])
def test_other_tabs_render(page: Any, tab: str, marker: str, artifacts_dir: Path) -> None:
    open_tab(page, tab)
    page.get_by_text(marker).first.wait_for()
    page.screenshot(path=str(artifacts_dir / f"ui-{tab.lower()}.png"), full_page=True)


def test_system_tab_clears_memory(page: Any, artifacts_dir: Path) -> None:
    open_tab(page, "System")
    page.locator("#system-status").get_by_text("ready").first.wait_for()
    page.locator("#system-release").click()
    page.locator("#system-action").get_by_text("the engine freed").wait_for()
    page.screenshot(path=str(artifacts_dir / "ui-system.png"), full_page=True)
