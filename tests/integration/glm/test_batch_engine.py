"""Continuous batching through the glm engine: several ``stream_steps`` generators driven by hand.

A small round-robin driver advances every live generator until it parks (``STEP_PENDING``) or ends, then
calls ``engine.run_step()``; requests join late, leave early, are cancelled or closed mid-batch, and each
one's audio is compared with the same request run alone (``engine.synthesize``, a batch of one).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.base import AudioChunk, CancelToken, SamplingOptions, SynthesisOptions, Voice  # noqa: E402
from glmtts.engines.batching import BatchLimits, StepPending  # noqa: E402
from glmtts.engines.glm.scheduler import StepScheduler  # noqa: E402
from glmtts.engines.glm.synthesis import seeded_generator  # noqa: E402
from glmtts.errors import CancelledError  # noqa: E402
from tests.conftest import harmonic_tone  # noqa: E402
from tests.support.glm.fixtures import load_glm_engine  # noqa: E402

TEXTS = ("你好，世界。", "今天天气很好。", "我们一起去公园散步吧，然后去吃饭。", "明天见。", "谢谢。")


@dataclass
class Request:
    """One driven request: its generator, when it joins, and what it produced."""

    steps: Iterator[AudioChunk | StepPending] | None = None
    join_round: int = 0
    close_round: int | None = None
    chunks: list[AudioChunk] = field(default_factory=list)
    error: Exception | None = None
    done: bool = False

    @property
    def audio(self) -> np.ndarray:
        return np.concatenate([chunk.samples for chunk in self.chunks])


def drive(engine, requests: list[tuple[Request, callable]], on_step=None) -> int:  # type: ignore[valid-type]
    """Round-robin: start requests at their round, advance each to its next park, run one step; rounds run."""
    n_round = 0
    while not all(request.done for request, _ in requests):
        for request, start in requests:
            if request.done or n_round < request.join_round:
                continue
            if request.close_round is not None and n_round >= request.close_round:
                request.steps.close()
                request.done = True
                continue
            if request.steps is None:
                request.steps = start()
            _advance(request)
        if any(request.steps is not None and not request.done for request, _ in requests):
            engine.run_step()
        if on_step is not None:
            on_step()
        n_round += 1
    return n_round


def _advance(request: Request) -> None:
    try:
        for item in request.steps:
            if isinstance(item, StepPending):
                return
            request.chunks.append(item)
    except CancelledError as exc:
        request.error = exc
    request.done = True


@pytest.fixture(scope="module")
def engine(tiny_ckpt):
    return load_glm_engine(tiny_ckpt, extra={"max_batch": 4, "batch_token_budget": 64})


@pytest.fixture(scope="module")
def voice(engine) -> Voice:
    return engine.prepare_voice(harmonic_tone(2.0, 24000, f0_hz=170.0), 24000, "今天天气很好。")


def _options(index: int, stream: bool) -> SynthesisOptions:
    strategy = "greedy" if index == 2 else "ras"
    return SynthesisOptions(seed=100 + index, stream=stream, sampling=SamplingOptions(strategy=strategy))


def _start(engine, voice, index: int, stream: bool):
    return lambda: engine.stream_steps(TEXTS[index], voice, _options(index, stream), None)


@pytest.mark.parametrize("stream", [False, True], ids=["one-shot", "streamed"])
def test_joining_mid_batch_gives_every_request_its_audio_alone(engine, voice, stream):
    requests = [(Request(join_round=2 * k), _start(engine, voice, k, stream)) for k in range(len(TEXTS))]
    batch_sizes: list[int] = []
    scheduler = engine._pipeline.synthesizer.scheduler
    drive(engine, requests, on_step=lambda: batch_sizes.append(scheduler.stats.last_batch))
    assert max(batch_sizes) == 4  # five requests, at most four decoded together
    for index, (request, _) in enumerate(requests):
        alone = engine.synthesize(TEXTS[index], voice, _options(index, stream))
        assert request.error is None and request.chunks[-1].is_last
        assert np.array_equal(request.audio, alone), f"request {index} differs from itself alone"
    assert scheduler.n_in_flight == 0 and scheduler.cache.used_tokens == 0


def test_closing_or_cancelling_mid_batch_frees_the_slot_and_leaves_the_others_untouched(engine, voice):
    scheduler = engine._pipeline.synthesizer.scheduler
    token = CancelToken()
    cancelled = Request()
    closed = Request(close_round=6)

    def start_cancelled():
        return engine.stream_steps(TEXTS[1], voice, _options(1, True), token)

    requests = [
        (Request(), _start(engine, voice, 0, False)),
        (closed, _start(engine, voice, 2, True)),
        (cancelled, start_cancelled),
        (Request(join_round=3), _start(engine, voice, 3, False)),
    ]
    used: list[int] = []

    def on_step() -> None:
        used.append(scheduler.cache.used_tokens)
        if len(used) == 5:
            token.cancel()

    drive(engine, requests, on_step)
    assert isinstance(cancelled.error, CancelledError)
    assert closed.done and not (closed.chunks and closed.chunks[-1].is_last)
    for index, (request, _) in ((0, requests[0]), (3, requests[3])):
        alone = engine.synthesize(TEXTS[index], voice, _options(index, False))
        assert np.array_equal(request.audio, alone)
    assert scheduler.n_in_flight == 0 and scheduler.cache.used_tokens == 0 and max(used) > 0


def test_kv_capacity_bounds_the_batch_and_extra_requests_wait(engine, voice, monkeypatch):
    synthesizer = engine._pipeline.synthesizer
    probe = synthesizer.scheduler.lm.plan(
        voice.features["prompt_text_ids"].tolist(),
        engine._pipeline.segment_texts(TEXTS[2], SynthesisOptions())[0][0],
        voice.features["speech_tokens"].tolist(),
        synthesizer.settings.limits,
    )
    need = len(probe[0]) + probe[2]
    small = StepScheduler(synthesizer.lm, BatchLimits(4, 64, kv_capacity_tokens=2 * need + 16))
    monkeypatch.setattr(synthesizer, "scheduler", small)
    requests = [(Request(), _start(engine, voice, k, False)) for k in range(4)]
    peaks: list[tuple[int, int, int]] = []
    drive(
        engine,
        requests,
        lambda: peaks.append((small.cache.used_tokens, len(small.running), len(small.waiting))),
    )
    assert all(used <= small.cache.capacity_tokens for used, _, _ in peaks)
    assert max(running for _, running, _ in peaks) <= 3 and max(waiting for _, _, waiting in peaks) >= 1
    for index, (request, _) in enumerate(requests):
        assert np.array_equal(request.audio, engine.synthesize(TEXTS[index], voice, _options(index, False)))


def test_max_batch_one_reproduces_the_serial_decoder_bit_for_bit(tiny_ckpt, voice):
    serial_engine = load_glm_engine(tiny_ckpt, extra={"max_batch": 1})
    synthesizer = serial_engine._pipeline.synthesizer
    options = SynthesisOptions(seed=9, use_cache=False)
    audio = serial_engine.synthesize(TEXTS[1], voice, options)
    # the serial reference: SpeechTokenLM.generate, then one-shot token2wav, one generator as upstream
    from glmtts.engines.glm.sampling import build_sampler
    from glmtts.engines.glm.voice import VoiceFeatures

    features = VoiceFeatures.from_arrays(voice.features, serial_engine.sample_rate)
    text_ids = serial_engine._pipeline.segment_texts(TEXTS[1], options)[0][0]
    generator = seeded_generator(options.seed, synthesizer.lm.device)
    prompt = (features.prompt_text_ids.tolist(), text_ids, features.speech_tokens.tolist())
    drawn = synthesizer.lm.generate(
        *prompt, build_sampler(options.sampling), generator, synthesizer.settings.limits
    )
    tokens = [token for token in drawn if 0 <= token < synthesizer.lm.special.n_audio_tokens]
    renderer = synthesizer.renderer(options)
    expected = synthesizer.token2wav.token2wav(
        tokens, *renderer.prompt_tensors(features), generator=generator
    )
    assert np.array_equal(audio, np.clip(expected.numpy(), -1, 1))
    assert serial_engine.batch_limits().max_sequences == 1


def test_kv_bytes_and_batch_settings_are_reported(engine):
    scheduler = engine._pipeline.synthesizer.scheduler
    lm = scheduler.lm
    per_position = 2 * len(lm.model.model.layers) * lm.n_kv_heads * lm.head_dim * 4
    expected = per_position * (scheduler.cache.n_blocks + 1) * scheduler.cache.block_tokens
    assert engine.memory_bytes()["kv_cache"] == expected == scheduler.cache.nbytes
    batch = engine.details()["batch"]
    assert batch["kv_cache_bytes"] == expected and batch["max_batch"] == 4
    assert engine.batch_limits() == BatchLimits(4, 64, 16_384)
    assert engine.capabilities().batching
