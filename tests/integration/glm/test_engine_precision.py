"""Per-component precision: the LLM in EngineConfig.dtype, the speech tokenizer always float32, flow/HiFT settable."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glmtts.engines.base import SynthesisOptions  # noqa: E402
from tests.support.glm.fixtures import load_glm_engine  # noqa: E402


def _floating_dtypes(module: torch.nn.Module) -> set[torch.dtype]:
    return {param.dtype for param in module.parameters() if param.is_floating_point()}


def test_info_reports_float32_components_by_default(glm_engine) -> None:
    assert glm_engine.info().details["dtypes"] == {
        "llm": "float32",
        "speech_tokenizer": "float32",
        "flow": "float32",
        "hift": "float32",
    }


def test_bfloat16_llm_with_float32_tokenizer_flow_and_vocoder(tiny_ckpt) -> None:
    engine = load_glm_engine(tiny_ckpt, dtype="bfloat16")
    synthesizer = engine._pipeline.synthesizer
    assert engine.info().details["dtypes"] == {
        "llm": "bfloat16",
        "speech_tokenizer": "float32",
        "flow": "float32",
        "hift": "float32",
    }
    assert _floating_dtypes(synthesizer.lm.model) == {torch.bfloat16}
    assert _floating_dtypes(engine._voices.speech_tokenizer.encoder) == {torch.float32}
    assert _floating_dtypes(synthesizer.token2wav.flow.dit) == {torch.float32}
    assert _floating_dtypes(synthesizer.token2wav.vocoder.model) == {torch.float32}
    audio = engine.synthesize("好。", engine.builtin_voice(), SynthesisOptions(seed=1))
    assert audio.size > 0 and np.all(np.isfinite(audio)) and np.abs(audio).max() > 1e-4


def test_flow_and_vocoder_dtypes_are_settings(tiny_ckpt) -> None:
    engine = load_glm_engine(tiny_ckpt, extra={"flow_dtype": "bfloat16", "hift_dtype": "float32"})
    token2wav = engine._pipeline.synthesizer.token2wav
    assert engine.info().details["dtypes"]["flow"] == "bfloat16"
    assert _floating_dtypes(token2wav.flow.dit) == {torch.bfloat16}
    assert _floating_dtypes(token2wav.vocoder.model) == {torch.float32}
    assert _floating_dtypes(engine._pipeline.synthesizer.lm.model) == {torch.float32}
    audio = engine.synthesize("好。", engine.builtin_voice(), SynthesisOptions(seed=1))
    assert audio.size > 0 and np.all(np.isfinite(audio))
