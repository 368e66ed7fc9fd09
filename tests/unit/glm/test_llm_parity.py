"""Speech-token LM against the official outputs on the reference tiny checkpoint, plus its decoding rules."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.glm.llm import LengthLimits, SpecialTokenIds, SpeechTokenLM  # noqa: E402
from glmtts.engines.glm.sampling import GreedySampler, RasSampler, TokenSampler  # noqa: E402
from glmtts.errors import CheckpointError, InvalidTextError  # noqa: E402
from tests.support.glm.fixtures import REF_CKPT, REF_SPECIAL_IDS  # noqa: E402
from tests.support.glm.reference import recorded_case  # noqa: E402


@pytest.fixture(scope="module")
def lm() -> SpeechTokenLM:
    return SpeechTokenLM.load(REF_CKPT / "llm", SpecialTokenIds(**REF_SPECIAL_IDS))


case = recorded_case("llm")


def _inputs(case: dict[str, np.ndarray]) -> tuple[list[int], list[int], list[int]]:
    return (
        case["prompt_text_token"][0].tolist(),
        case["tts_text_token"][0].tolist(),
        case["prompt_speech_token"][0].tolist(),
    )


class _Recorder(TokenSampler):
    """Greedy, remembering the log-probabilities it was given."""

    def __init__(self) -> None:
        self.steps: list[torch.Tensor] = []

    def sample(self, logp, history, generator):
        self.steps.append(logp.clone())
        return int(logp.argmax())


def test_prompt_layout_matches_upstream(lm, case):
    assert lm.build_input_ids(*_inputs(case)) == case["expected_input_ids"][0].tolist()


def test_greedy_ids_identical_to_official(lm, case):
    tokens = list(lm.generate(*_inputs(case), GreedySampler()))
    assert tokens == case["topk_out_tokens"].tolist()


def test_ras_ids_identical_to_official_given_seed(lm, case):
    generator = torch.Generator().manual_seed(2024)
    tokens = list(lm.generate(*_inputs(case), RasSampler(), generator))
    assert tokens == case["ras_out_tokens"].tolist()  # out-of-range ids (RAS fallback) are returned as is


def test_cached_steps_match_full_forward_and_reference_logits(lm, case):
    recorder = _Recorder()
    tokens = list(lm.generate(*_inputs(case), recorder))
    ref_first = torch.from_numpy(case["topk_first_step_logits"]).log_softmax(-1)
    finite = recorder.steps[0].isfinite()
    assert int(finite.sum()) == ref_first.numel() - 1  # only end-of-audio is masked at step 0
    assert torch.allclose(recorder.steps[0][finite], ref_first[finite], atol=1e-4)
    ids = lm.build_input_ids(*_inputs(case)) + [t + REF_SPECIAL_IDS["ats"] for t in tokens]
    with torch.inference_mode():
        full = lm.model(inputs_embeds=lm.model.model.embed_tokens(torch.tensor([ids]))).logits[0]
    full_logp = full.float().log_softmax(-1)
    prompt_len = len(ids) - len(tokens)
    for step, logp in enumerate(recorder.steps[1:], start=1):
        finite = logp.isfinite()
        assert torch.allclose(logp[finite], full_logp[prompt_len - 1 + step][finite], atol=1e-4)


def test_end_of_audio_masked_below_min_length(lm, case):
    recorder = _Recorder()
    tokens = list(lm.generate(*_inputs(case), recorder, limits=LengthLimits(min_ratio=5.0, max_ratio=20.0)))
    min_len = 5 * len(case["tts_text_token"][0])
    assert len(tokens) >= min_len
    eoa = REF_SPECIAL_IDS["eoa"]
    assert all(torch.isneginf(step[eoa]) for step in recorder.steps[:min_len])
    assert all(torch.isfinite(step[eoa]) for step in recorder.steps[min_len:])


def test_max_length_caps_generation(lm, case):
    tokens = list(
        lm.generate(*_inputs(case), GreedySampler(), limits=LengthLimits(min_ratio=0.0, max_ratio=1.5))
    )
    assert len(tokens) == int(1.5 * len(case["tts_text_token"][0]))


def test_bfloat16_decodes_audio_tokens(case):
    lm16 = SpeechTokenLM.load(REF_CKPT / "llm", SpecialTokenIds(**REF_SPECIAL_IDS), dtype=torch.bfloat16)
    assert lm16.dtype == torch.bfloat16
    tokens = list(lm16.generate(*_inputs(case), GreedySampler()))
    reference = case["topk_out_tokens"].tolist()
    assert len(tokens) >= 2 * len(case["tts_text_token"][0])  # min_len
    assert sum(a == b for a, b in zip(tokens, reference, strict=False)) >= len(reference) // 2


def test_empty_text_is_an_input_error(lm, case):
    prompt_text, _, prompt_speech = _inputs(case)
    with pytest.raises(InvalidTextError):
        next(lm.generate(prompt_text, [], prompt_speech, GreedySampler()))


def test_special_ids_outside_vocabulary_are_rejected():
    with pytest.raises(CheckpointError, match="vocabulary"):
        SpeechTokenLM.load(
            REF_CKPT / "llm", SpecialTokenIds(pad=1000, eoa=1003, boa=1004, ats=60000, ate=92767)
        )


def test_no_random_initialisation_before_loading(monkeypatch):
    import torch.nn.init as init

    def fail(tensor, *args, **kwargs):
        raise AssertionError(f"random init ran on a {tensor.device} tensor")

    for name in ("normal_", "uniform_", "kaiming_uniform_", "xavier_uniform_"):
        monkeypatch.setattr(init, name, fail)
    lm = SpeechTokenLM.load(REF_CKPT / "llm", SpecialTokenIds(**REF_SPECIAL_IDS))
    assert not any(p.is_meta for p in lm.model.parameters())
