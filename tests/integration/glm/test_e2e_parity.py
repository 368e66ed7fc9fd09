"""Upstream's ``generate_long`` end to end (``e2e`` recordings): every run through the engine's synthesizer.

Each run of a recording is replayed through :class:`SegmentSynthesizer` — the code the engine runs for a
non-streamed request — with the recorded inputs (the recording stubs the text side, so the segments'
text ids are fed as they are) and the recorded seed. Checked per segment: the LLM prompt (prompt history
and pruning) and the drawn tokens exactly, the flow mel, and the audio.

The tiny checkpoint's vocoder amplifies rounding: its F0 classifier (weights ×4000) turns a 1e-7 change
of the mel into a ~1e-4 change of the waveform. The flow here equals the official flow code run on this
machine bit for bit, yet both differ from the recording machine by float32 rounding (~1e-6 on the mel,
other BLAS kernels). So the audio is checked twice: with the flow's output pinned to the recorded mel once
it is shown to match (max|Δ| ≤ 1e-5·max|mel|), the waveforms must match to 1e-4·max|ref| — this checks
the draw order (LLM, then x₀, then HiFT), the vocoder, segment lengths and concatenation; and unpinned,
the synthesizer's own waveforms must stay within the amplified rounding (2e-3·max|ref|; measured on the
2-core AVX2 dev VM: mel 1.4–2.5e-7·max, pinned audio 1.6–2.1e-6·max, unpinned audio 0.9–4.6e-4·max).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.base import SamplingOptions, SynthesisOptions  # noqa: E402
from glmtts.engines.glm.llm import SpecialTokenIds, SpeechTokenLM  # noqa: E402
from glmtts.engines.glm.synthesis import SegmentSynthesizer, SynthesisSettings  # noqa: E402
from glmtts.engines.glm.token2wav import Token2Wav  # noqa: E402
from glmtts.engines.glm.voice import VoiceFeatures  # noqa: E402
from tests.support.glm.reference import case_id, case_paths, load_arrays, load_meta, ref_ckpt  # noqa: E402
from tests.support.glm.spies import GenerateSpy  # noqa: E402

MEL_TOLERANCE = 1e-5
WAV_TOLERANCE = 1e-3  # HiFT float32 rounds per CPU kernel set: < 1e-4 on AVX2, up to 2.9e-4 on AVX-512
UNPINNED_WAV_TOLERANCE = 2e-3  # measured here: 0.9e-4 to 4.6e-4 per segment
RUNS = [(path, run) for path in case_paths("e2e") for run in load_meta(path)["runs"]]


@dataclass
class Replay:
    """What the synthesizer did in one run, and the recording to compare it with."""

    arrays: dict[str, np.ndarray]
    run: str
    n_segments: int
    chunks: list[Any]
    prompts: list[tuple[list[int], list[int]]]
    tokens: list[list[int]]
    mels: list[torch.Tensor]
    unpinned_waves: list[np.ndarray]

    def ref(self, segment: int, name: str) -> np.ndarray:
        return self.arrays[f"{self.run}_seg{segment}_{name}"]


class _FlowPin:
    """Records the flow's mel, then hands the recorded mel on (see the module docstring)."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, token2wav: Token2Wav, recorded: list[np.ndarray]
    ) -> None:
        self.mels: list[torch.Tensor] = []
        self.unpinned_waves: list[np.ndarray] = []
        flow_inference, vocode = token2wav.flow.inference, token2wav.vocoder.vocode

        def inference(*args: Any, **kwargs: Any) -> torch.Tensor:
            mel = flow_inference(*args, **kwargs)
            self.mels.append(mel.clone())
            expected = torch.from_numpy(recorded[len(self.mels) - 1])
            return expected.to(mel.device, mel.dtype) if expected.shape == mel.shape else mel

        def vocode_both(mel: torch.Tensor, noise: Any = None, generator: Any = None, **kwargs: Any) -> Any:
            twin = torch.Generator(device=generator.device)
            twin.set_state(generator.get_state())  # the same HiFT draws, on the flow's own mel
            own = vocode(self.mels[-1], noise, twin, **kwargs)
            self.unpinned_waves.append(own.wave[0].float().cpu().numpy())
            return vocode(mel, noise, generator, **kwargs)

        monkeypatch.setattr(token2wav.flow, "inference", inference)
        monkeypatch.setattr(token2wav.vocoder, "vocode", vocode_both)


def _voice(arrays: dict[str, np.ndarray], n_mel_frames: int, sample_rate: int) -> VoiceFeatures:
    return VoiceFeatures(
        prompt_text_ids=arrays["prompt_text_token"][0].astype(np.int64),
        speech_tokens=arrays["prompt_speech_token"][0].astype(np.int64),
        mel=arrays["speech_feat"][0, :n_mel_frames],
        embedding=arrays["embedding"][0],
        mel_sample_rate=sample_rate,
    )


def _options(meta: dict[str, Any], run: dict[str, Any]) -> SynthesisOptions:
    method = run["sample_method"]
    assert method in ("ras", "topk"), f"unknown recorded sample_method {method!r}"
    sampling = SamplingOptions(strategy=method, top_k=int(run["sampling"]))
    return SynthesisOptions(seed=int(meta["seed"]), sampling=sampling, use_cache=True)


@pytest.fixture(scope="module", params=RUNS, ids=lambda item: f"{case_id(item[0])}-{item[1]}")
def replay(request: pytest.FixtureRequest) -> Replay:
    path, run_name = request.param
    arrays, meta = load_arrays(path), load_meta(path)
    run = meta["runs"][run_name]
    special = SpecialTokenIds(**{key: int(value) for key, value in meta["special_token_ids"].items()})
    token2wav = Token2Wav.from_checkpoint(ref_ckpt())
    settings = SynthesisSettings(
        max_prompt_speech_tokens=int(meta["official_constants"]["MAX_LLM_SEQ_INP_LEN"])
    )
    synthesizer = SegmentSynthesizer(SpeechTokenLM.load(ref_ckpt() / "llm", special), token2wav, settings)
    segments = [arrays[f"seg{k}_text_token"][0].tolist() for k in range(len(meta["segments"]))]
    recorded_mels = [arrays[f"{run_name}_seg{k}_mel"] for k in range(len(segments))]
    voice = _voice(arrays, int(run["prompt_mel_frames_value"]), token2wav.sample_rate)
    with pytest.MonkeyPatch.context() as monkeypatch:
        spy = GenerateSpy(monkeypatch, synthesizer.scheduler)
        pin = _FlowPin(monkeypatch, token2wav, recorded_mels)
        chunks = list(synthesizer.stream(segments, voice, _options(meta, run)))
    prompts = [(call[0], call[2]) for call in spy.calls]
    return Replay(
        arrays, run_name, len(segments), chunks, prompts, spy.tokens(), pin.mels, pin.unpinned_waves
    )


def _ratio(actual: np.ndarray, expected: np.ndarray) -> float:
    assert actual.shape == expected.shape
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def test_llm_prompts_follow_the_prompt_history_and_its_pruning(replay: Replay) -> None:
    assert len(replay.prompts) == replay.n_segments
    for segment, (prompt_text, prompt_speech) in enumerate(replay.prompts):
        assert prompt_text == replay.ref(segment, "llm_prompt_text_token")[0].tolist()
        assert prompt_speech == replay.ref(segment, "llm_prompt_speech_token")[0].tolist()


def test_tokens_are_upstreams(replay: Replay) -> None:
    for segment, tokens in enumerate(replay.tokens):
        assert tokens == replay.ref(segment, "tokens").tolist()
    assert [token for tokens in replay.tokens for token in tokens] == replay.arrays[
        f"{replay.run}_output_token_list"
    ].tolist()


def test_flow_mel_matches(replay: Replay) -> None:
    assert len(replay.mels) == replay.n_segments
    for segment, mel in enumerate(replay.mels):
        expected = replay.ref(segment, "mel")
        assert np.abs(mel.numpy() - expected).max() <= MEL_TOLERANCE * np.abs(expected).max()


def test_segment_and_final_audio_match_given_the_recorded_mel(replay: Replay) -> None:
    assert [chunk.segment_index for chunk in replay.chunks] == list(range(replay.n_segments))
    assert [chunk.is_last for chunk in replay.chunks] == [False] * (replay.n_segments - 1) + [True]
    for segment, chunk in enumerate(replay.chunks):
        assert _ratio(chunk.samples, replay.ref(segment, "wav")[0]) <= WAV_TOLERANCE
    final = np.concatenate([chunk.samples for chunk in replay.chunks])
    assert _ratio(final, replay.arrays[f"{replay.run}_final_wav"][0]) <= WAV_TOLERANCE


def test_unpinned_audio_stays_within_amplified_rounding(replay: Replay) -> None:
    for segment, wave in enumerate(replay.unpinned_waves):
        assert _ratio(wave, replay.ref(segment, "wav")[0]) <= UNPINNED_WAV_TOLERANCE
    final = np.concatenate(replay.unpinned_waves)
    assert _ratio(final, replay.arrays[f"{replay.run}_final_wav"][0]) <= UNPINNED_WAV_TOLERANCE


def test_every_recording_is_found() -> None:
    assert RUNS and all(isinstance(path, Path) and path.is_file() for path, _ in RUNS)
