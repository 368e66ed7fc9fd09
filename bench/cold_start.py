"""Cold start and serving overhead of ``glmtts serve``, eager (load + warm-up before ready) vs ``--lazy``.

One run prints, side by side:
* T_ready: process start to ``/ready`` 200, for a first and a second start of the same installation
  (same workdir and cache; the cache is prepared once with ``glmtts doctor --prepare`` first, as
  ``scripts/setup.sh`` does) — target <= 10 s — and T_ready / (engine load + one warm request) — target
  <= 2; the server's own start-up table (``/v1/status`` ``startup``) is printed per start;
* per request class (short text, long text, new voice, cached voice, streaming, each output format): the
  first request after ready divided by the median warm latency — target <= 1.10 — for eager starts and
  lazy (loads on first request);
* cached-voice overhead (voice resolution on the model thread, and end to end vs a built-in voice) against
  re-extracting the prompt features — target <= 5 ms;
* HTTP p50 / direct engine p50 at concurrency 1 — target <= 1.05;
* streaming time to first audio / full latency for a 4-sentence text — target <= 0.30;
* throughput at concurrency 1, 2, 4 with the count of 5xx answers (target 0);
* RSS after 500 requests vs after 50 (flat).

Usage: ``python bench/cold_start.py [--engine kokoro] [--n-warm 7] [--n-rss 500] [--starts 2]
[--warmup-rounds N] [--json OUT]``
(``--engine fake --engine-class tests.support.fake_engine:FakeEngine`` for a quick dry run).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # the test fake engine lives under tests/
    sys.path.append(str(REPO_ROOT))
SHORT = "Hello, this is a short request."
LONG = (
    "The weather is lovely today, so we are going for a walk in the park with the children. "
    "今天天气很好，我们去公园散步吧。 In the evening we will cook dinner together."
)
FOUR_SENTENCES = (
    "The first sentence starts the story. The second sentence adds a detail. "
    "The third sentence moves things along. The fourth sentence brings it to an end."
)
TARGETS = {"first_over_warm": 1.10, "cached_voice_ms": 5.0, "http_over_direct": 1.05, "ttfa_over_full": 0.30,
           "t_ready_s": 10.0, "ready_over_load_and_request": 2.0}  # fmt: skip
#: Output formats with a request class of their own (wav and pcm are covered by the others).
FORMATS = ("mp3", "opus", "aac", "flac")


def prompt_clip(seed: int, sample_rate: int = 24000, duration_s: float = 3.0) -> bytes:
    """A voiced-like WAV clip, different for each seed (a 'new voice')."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    f0 = (100.0 + 80.0 * rng.random()) * (1.0 + 0.04 * np.sin(2 * np.pi * 4.0 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    wave = sum(np.sin(k * phase) * np.exp(-0.3 * k) for k in range(1, 20))
    envelope = 0.3 + 0.7 * np.abs(np.sin(2 * np.pi * 2.5 * t))
    samples = 0.25 * envelope * wave / np.max(np.abs(wave)) + 0.002 * rng.standard_normal(t.size)
    buffer = io.BytesIO()
    sf.write(buffer, samples.astype(np.float32), sample_rate, format="WAV")
    return buffer.getvalue()


class Server:
    """``glmtts serve`` in a subprocess on a free port."""

    def __init__(self, args: argparse.Namespace, workdir: Path, lazy: bool, name: str = "") -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "glmtts", "serve", "--port", str(port), "--workdir", str(workdir),
                   "--engine", args.engine, "--no-ui", "--max-queue", "64"]  # fmt: skip
        if args.engine_class:
            command += ["--engine-class", args.engine_class]
        if args.ckpt:
            command += ["--ckpt", str(args.ckpt)]
        if lazy:
            command.append("--lazy")
        if args.cache_dir:
            command += ["--cache-dir", str(args.cache_dir)]
        if args.warmup_rounds is not None:
            command += ["--warmup-rounds", str(args.warmup_rounds)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "src")])}
        if args.engine_options:
            env["GLMTTS_ENGINE_OPTIONS"] = args.engine_options
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = open(workdir / f"server-{name or ('lazy' if lazy else 'eager')}.log", "wb")  # noqa: SIM115
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.client = httpx.Client(base_url=self.url, timeout=600)

    def wait_ready(self, timeout_s: float = 900) -> float:
        while time.monotonic() - self.started < timeout_s:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited with {self.process.returncode}; see {self.log.name}")
            try:
                if self.client.get("/ready", timeout=2).status_code == 200:
                    return time.monotonic() - self.started
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise SystemExit("server not ready in time")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)
        self.client.close()
        self.log.close()


def timed(call: Callable[[], httpx.Response]) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"request failed: {response.status_code} {response.text[:200]}")
    return elapsed, response


def speech(
    client: httpx.Client, text: str, voice: str | None = None, audio_format: str = "wav"
) -> httpx.Response:
    body = {"input": text, "response_format": audio_format, **({"voice": voice} if voice else {})}
    return client.post("/v1/audio/speech", json=body)


def tts_with_prompt(client: httpx.Client, text: str, clip: bytes) -> httpx.Response:
    files = {"prompt_audio": ("prompt.wav", clip, "audio/wav")}
    return client.post(
        "/v1/tts", data={"text": text, "prompt_text": "A short prompt.", "format": "wav"}, files=files
    )


def first_byte_and_total(client: httpx.Client, text: str) -> tuple[float, float]:
    started = time.perf_counter()
    first = None
    body = {"input": text, "response_format": "pcm", "stream": True}
    with client.stream("POST", "/v1/audio/speech", json=body) as response:
        for _ in response.iter_bytes():
            first = first or time.perf_counter() - started
    return first or 0.0, time.perf_counter() - started


def request_classes(client: httpx.Client, seed_base: int) -> dict[str, Callable[[int], float]]:
    """Each class: i -> seconds for its i-th request (new voice: a fresh clip every time)."""
    cached_clip = prompt_clip(10_000 + seed_base)
    formats: dict[str, Callable[[int], float]] = {
        f"format {name}": lambda i, name=name: timed(lambda: speech(client, SHORT, audio_format=name))[0]
        for name in FORMATS
    }
    return {
        "short text": lambda i: timed(lambda: speech(client, SHORT))[0],
        "long text": lambda i: timed(lambda: speech(client, LONG))[0],
        "new voice": lambda i: timed(lambda: tts_with_prompt(client, SHORT, prompt_clip(seed_base + i)))[0],
        "cached voice": lambda i: timed(lambda: tts_with_prompt(client, SHORT, cached_clip))[0],
        "stream (ttfa)": lambda i: first_byte_and_total(client, FOUR_SENTENCES)[0],
        **formats,
    }


def first_vs_warm(server: Server, n_warm: int, seed_base: int) -> dict[str, dict[str, float]]:
    """First request of each class after ready, then the median of ``n_warm`` more."""
    classes = request_classes(server.client, seed_base)
    # Warm the *client*: httpx's first POST costs ~90 ms on its own (JSON and multipart encoders, a
    # fresh connection). A POST to an unknown path warms that without touching any server route.
    server.client.post("/bench-client-warmup", json={"input": SHORT})
    firsts = {}
    for name, run in classes.items():
        if name == "cached voice":  # its first request must find the voice cached: prime with a 'new' one
            timed(lambda: tts_with_prompt(server.client, SHORT, prompt_clip(10_000 + seed_base)))
        firsts[name] = run(0)
    result = {}
    for name, run in classes.items():
        warm = [run(i + 1) for i in range(n_warm)]
        median = statistics.median(warm)
        result[name] = {"first_s": firsts[name], "warm_median_s": median, "ratio": firsts[name] / median}
    return result


def voice_overhead(client: httpx.Client, n: int) -> dict[str, float]:
    """Voice resolution on the model thread (server timing headers) and end-to-end deltas, in ms."""
    clip = prompt_clip(777)
    tts_with_prompt(client, SHORT, clip)
    cached = [tts_with_prompt(client, SHORT, clip) for _ in range(n)]
    fresh = [tts_with_prompt(client, SHORT, prompt_clip(5000 + i)) for i in range(n)]
    builtin = [timed(lambda: speech(client, SHORT))[0] for _ in range(n)]
    cached_e2e = [timed(lambda: tts_with_prompt(client, SHORT, clip))[0] for _ in range(n)]
    ms = 1000.0
    return {
        "cached_voice_s_ms": ms * statistics.median(float(r.headers["x-voice-s"]) for r in cached),
        "new_voice_s_ms": ms * statistics.median(float(r.headers["x-voice-s"]) for r in fresh),
        "cached_e2e_minus_builtin_ms": ms * (statistics.median(cached_e2e) - statistics.median(builtin)),
    }


class DirectEngine:
    """The same engine in this process: engine.synthesize + WAV encoding, what HTTP adds is measured against."""

    def __init__(self, args: argparse.Namespace) -> None:
        from glmtts.engines.base import EngineConfig, SynthesisOptions
        from glmtts.engines.registry import create_engine, register_engine

        if args.engine_class:
            register_engine(args.engine, args.engine_class)
        extra = json.loads(args.engine_options) if args.engine_options else {}
        self.engine = create_engine(EngineConfig(name=args.engine, ckpt_dir=args.ckpt, extra=extra))
        self.engine.load()
        self.engine.warmup()
        self.voice = self.engine.builtin_voice()
        self.options = SynthesisOptions()

    def seconds(self, text: str) -> float:
        from glmtts.audio import encode_audio

        started = time.perf_counter()
        encode_audio(self.engine.synthesize(text, self.voice, self.options), self.engine.sample_rate, "wav")
        return time.perf_counter() - started


def http_and_direct_p50(client: httpx.Client, direct: DirectEngine, n: int) -> tuple[float, float]:
    """Interleaved (HTTP, direct, HTTP, direct, ...) so that drift in machine speed hits both alike; the
    server is idle while the direct call runs."""
    http_times, direct_times = [], []
    for _ in range(n):
        http_times.append(timed(lambda: speech(client, SHORT))[0])
        direct_times.append(direct.seconds(SHORT))
    return statistics.median(http_times), statistics.median(direct_times)


def throughput(client: httpx.Client, concurrency: int, n_requests: int) -> dict[str, float]:
    def one(_: int) -> tuple[int, float]:
        response = speech(client, SHORT)
        return response.status_code, float(response.headers.get("x-audio-duration-s", 0))

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(n_requests)))
    elapsed = time.perf_counter() - started
    audio_s = sum(seconds for _, seconds in results)
    return {
        "req_per_s": n_requests / elapsed,
        "audio_s_per_s": audio_s / elapsed,
        "n_5xx": sum(1 for status, _ in results if status >= 500),
        "n_429": sum(1 for status, _ in results if status == 429),
    }


def rss_growth(client: httpx.Client, n_total: int) -> dict[str, float]:
    texts = ["Hi.", "Yes, thanks.", "你好。", "It costs 42 dollars."]
    mib = 1024 * 1024
    rss = {}
    with ThreadPoolExecutor(2) as pool:
        for start, stop in ((0, 50), (50, n_total)):
            list(pool.map(lambda i: speech(client, texts[i % len(texts)]), range(start, stop)))
            rss[stop] = client.get("/v1/status").json()["memory"]["process_rss_bytes"] / mib
    return {"rss_50_mib": rss[50], f"rss_{n_total}_mib": rss[n_total], "ratio": rss[n_total] / rss[50]}


def run_mode(args: argparse.Namespace, workdir: Path, mode: str, index: int) -> dict[str, Any]:
    """Start a server in one mode (``eager`` or ``lazy``; ``index``: which start of the same workdir)
    and measure readiness, its start-up table and first-vs-warm latency."""
    lazy = mode == "lazy"
    server = Server(args, workdir / mode, lazy, name=f"{mode}-{index}")
    try:
        t_ready = server.wait_ready()
        server.client.get("/health")  # the benchmark client's own first connection is not the server's cost
        startup = server.client.get("/v1/status").json().get("startup", {})
        classes = first_vs_warm(server, args.n_warm, seed_base=1000 * index + (100 if lazy else 0))
    finally:
        server.stop()
    steps = {step["name"]: step["seconds"] for step in startup.get("steps", [])}
    engine_load = steps.get("engine load", 0.0)
    warm_request = classes["short text"]["warm_median_s"]
    return {
        "t_ready_s": t_ready,
        "engine_load_s": engine_load,
        "ready_over_load_and_request": t_ready / (engine_load + warm_request) if engine_load else None,
        "startup": startup,
        "classes": classes,
    }


def prepare_cache(args: argparse.Namespace, workdir: Path) -> float:
    """Set-up of a fresh cache with ``glmtts doctor --prepare`` (what scripts/setup.sh runs); seconds."""
    args.cache_dir = workdir / "cache"
    started = time.monotonic()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "src")])}
    subprocess.run([sys.executable, "-m", "glmtts", "doctor", "--prepare", "--no-synth", "--cache-dir",
                    str(args.cache_dir)], check=True, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
    return time.monotonic() - started


def run_serving(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Overheads, streaming, throughput and memory on one eager server."""
    server = Server(args, workdir / "serving", lazy=False)
    try:
        server.wait_ready()
        client = server.client
        http_p50, direct_p50 = http_and_direct_p50(client, DirectEngine(args), args.n_warm * 3)
        streams = [first_byte_and_total(client, FOUR_SENTENCES) for _ in range(args.n_warm)]
        full = statistics.median(timed(lambda: speech(client, FOUR_SENTENCES))[0] for _ in range(args.n_warm))
        result: dict[str, Any] = {
            "http_p50_s": http_p50,
            "direct_p50_s": direct_p50,
            "voice": voice_overhead(client, args.n_warm),
            "stream_ttfa_s": statistics.median(first for first, _ in streams),
            "stream_total_s": statistics.median(total for _, total in streams),
            "full_latency_s": full,
            "throughput": {c: throughput(client, c, args.n_throughput) for c in (1, 2, 4)},
            "rss": rss_growth(client, args.n_rss),
        }
    finally:
        server.stop()
    return result


def report(modes: dict[str, dict[str, Any]], serving: dict[str, Any]) -> None:
    if modes:
        report_startup(modes)
        report_modes(modes)
    if serving:
        report_serving(serving)


def report_startup(modes: dict[str, dict[str, Any]]) -> None:
    """Each start's own table (from /v1/status), steps side by side."""
    names = list(dict.fromkeys(s["name"] for r in modes.values() for s in r["startup"].get("steps", [])))
    print(f"{'start-up step (s: start / took)':40}" + "".join(f"{m:>20}" for m in modes))
    for name in names:
        cells = []
        for result in modes.values():
            found = [s for s in result["startup"].get("steps", []) if s["name"] == name]
            cells.append(f"{found[0]['start_s']:8.2f} / {found[0]['seconds']:6.2f}" if found else "-")
        depth = next(
            s["depth"] for r in modes.values() for s in r["startup"].get("steps", []) if s["name"] == name
        )
        print(f"{'  ' * depth + name:40}" + "".join(f"{c:>20}" for c in cells))


def report_modes(modes: dict[str, dict[str, Any]]) -> None:
    print(f"{'':18}" + "".join(f"{m:>24}" for m in modes))
    print(f"{'T_ready (s)':18}" + "".join(f"{r['t_ready_s']:>24.2f}" for r in modes.values())
          + f"   (target <= {TARGETS['t_ready_s']:.0f})")  # fmt: skip
    ratios = [r["ready_over_load_and_request"] for r in modes.values()]
    print(f"{'T_ready/(load+req)':18}" + "".join(f"{x:>24.2f}" if x else f"{'-':>24}" for x in ratios)
          + f"   (target <= {TARGETS['ready_over_load_and_request']:.0f})")  # fmt: skip
    print(f"first / warm median (target <= {TARGETS['first_over_warm']:.2f}):")
    for name in next(iter(modes.values()))["classes"]:
        cells = "".join(
            f"{r['classes'][name]['ratio']:>9.2f} ({r['classes'][name]['first_s'] * 1000:5.0f}/"
            f"{r['classes'][name]['warm_median_s'] * 1000:5.0f} ms)"
            for r in modes.values()
        )
        print(f"  {name:16}{cells}")


def report_serving(serving: dict[str, Any]) -> None:
    voice = serving["voice"]
    print(f"cached voice on model thread: {voice['cached_voice_s_ms']:.2f} ms vs re-extracting "
          f"{voice['new_voice_s_ms']:.1f} ms (target <= {TARGETS['cached_voice_ms']:.0f} ms); end to end vs "
          f"built-in voice: {voice['cached_e2e_minus_builtin_ms']:+.1f} ms")  # fmt: skip
    ratio = serving["http_p50_s"] / serving["direct_p50_s"]
    print(f"HTTP p50 / direct engine p50: {serving['http_p50_s'] * 1000:.0f} / {serving['direct_p50_s'] * 1000:.0f} ms"
          f" = {ratio:.3f} (target <= {TARGETS['http_over_direct']:.2f})")  # fmt: skip
    ttfa_ratio = serving["stream_ttfa_s"] / serving["full_latency_s"]
    print(f"streaming TTFA / full latency (4 sentences): {serving['stream_ttfa_s'] * 1000:.0f} / "
          f"{serving['full_latency_s'] * 1000:.0f} ms = {ttfa_ratio:.2f} (target <= {TARGETS['ttfa_over_full']:.2f})")  # fmt: skip
    for concurrency, row in serving["throughput"].items():
        print(f"throughput c={concurrency}: {row['req_per_s']:.2f} req/s, {row['audio_s_per_s']:.2f} audio-s/s, "
              f"5xx={row['n_5xx']}, 429={row['n_429']}")  # fmt: skip
    rss = serving["rss"]
    keys = [k for k in rss if k.startswith("rss_")]
    print(f"RSS after {keys[0][4:-4]} / {keys[1][4:-4]} requests: {rss[keys[0]]:.0f} / {rss[keys[1]]:.0f} MiB "
          f"(ratio {rss['ratio']:.3f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="kokoro")
    parser.add_argument(
        "--engine-class", help="register ENGINE as 'module:Class' (e.g. the test fake engine)"
    )
    parser.add_argument("--ckpt", type=Path)
    parser.add_argument(
        "--engine-options", help="JSON object passed as EngineConfig.extra (e.g. fake engine delays)"
    )
    parser.add_argument("--n-warm", type=int, default=7, help="warm requests per class (median)")
    parser.add_argument("--n-throughput", type=int, default=16, help="requests per concurrency level")
    parser.add_argument("--n-rss", type=int, default=500, help="requests before the second RSS reading")
    parser.add_argument("--modes", default="eager,lazy", help="comma list of eager and/or lazy ('' for none)")
    parser.add_argument("--starts", type=int, default=2, help="eager starts of the same installation")
    parser.add_argument("--warmup-rounds", type=int, help="passed to glmtts serve (ablation: 0)")
    parser.add_argument("--cache-dir", type=Path, help="use this cache (default: a fresh one, prepared)")
    parser.add_argument("--skip-serving", action="store_true", help="only T_ready and first/warm ratios")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="glmtts-cold-") as tmp:
        workdir = Path(tmp)
        if args.cache_dir is None:
            print(f"set-up: glmtts doctor --prepare took {prepare_cache(args, workdir):.1f} s")
        runs = [(m, i) for m in args.modes.split(",") if m for i in range(1 if m == "lazy" else args.starts)]
        modes = {f"{m} start {i + 1}": run_mode(args, workdir, m, i) for m, i in runs}
        serving = {} if args.skip_serving else run_serving(args, workdir)
    report(modes, serving)
    if args.json:
        args.json.write_text(json.dumps({"modes": modes, "serving": serving}, indent=1, default=str))


if __name__ == "__main__":
    main()
