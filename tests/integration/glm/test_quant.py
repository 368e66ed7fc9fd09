"""--llm-quant int8 / int4: torchao weight-only LLM on the tiny checkpoint synthesizes valid, seeded audio."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchao")

from glmtts.engines.base import EngineConfig, SynthesisOptions  # noqa: E402
from glmtts.engines.glm.quantize import is_quantized, module_bytes, parse_quant_mode  # noqa: E402
from glmtts.engines.registry import create_engine  # noqa: E402
from glmtts.errors import InvalidOptionError  # noqa: E402
from tests.conftest import harmonic_tone  # noqa: E402
from tests.support.glm.fixtures import load_glm_engine  # noqa: E402
from tests.support.glm.spies import GenerateSpy  # noqa: E402

TEXT = "你好，世界。"
N_AUDIO_TOKENS = 1024  # the tiny checkpoint's speech vocabulary


@pytest.fixture(scope="module", params=["int8", "int4"])
def quant_engine(request, tiny_ckpt, tmp_path_factory):
    cache_dir = tmp_path_factory.mktemp(f"quant-{request.param}")
    return load_glm_engine(tiny_ckpt, cache_dir=cache_dir, extra={"llm_quant": request.param})


@pytest.fixture(scope="module")
def voice(quant_engine):
    return quant_engine.prepare_voice(harmonic_tone(2.5, 24000, f0_hz=180.0), 24000, "今天天气很好。")


def test_decoder_linears_are_torchao_tensors_and_embeddings_stay_bfloat16(quant_engine) -> None:
    model = quant_engine._pipeline.synthesizer.lm.model
    mode = quant_engine.details()["llm_quant"]
    linears = [
        m
        for name, m in model.named_modules()
        if name.startswith("model.layers.") and hasattr(m, "in_features")
    ]
    assert linears and all(is_quantized(linear.weight) for linear in linears)
    assert not is_quantized(model.model.embed_tokens.weight)
    assert model.model.embed_tokens.weight.dtype == torch.bfloat16
    assert is_quantized(model.lm_head.weight) == (mode == "int8")  # int4 keeps the head in bfloat16


def test_details_report_mode_dtype_and_bytes_before_and_after(quant_engine, glm_engine) -> None:
    details = quant_engine.details()
    assert details["llm_quant"] in ("int8", "int4")
    assert details["dtypes"]["llm"] == "bfloat16"  # float32 requested: quantized LLMs compute in bfloat16
    assert details["dtypes"]["flow"] == details["dtypes"]["hift"] == "float32"
    weights = details["weights_bytes"]
    before, after = weights["before_quantization"], weights["after_quantization"]
    assert after["llm"] < before["llm"] < module_bytes(glm_engine._pipeline.synthesizer.lm.model)
    assert after["flow"] == before["flow"] and after["vocoder"] == before["vocoder"]
    assert quant_engine.memory_bytes() == after
    assert details["quantization"]["source"] == "checkpoint"


def test_synthesizes_valid_tokens_and_audio(quant_engine, voice, monkeypatch) -> None:
    spy = GenerateSpy(monkeypatch, quant_engine._pipeline.synthesizer.scheduler)
    audio = quant_engine.synthesize(TEXT, voice, SynthesisOptions(seed=7))
    tokens = spy.tokens()[0]
    n_text = len(quant_engine._pipeline.tokenizer.encode(TEXT))
    assert 2 * n_text <= len(tokens) <= 4 * n_text
    # ids are returned minus the first audio id (1024); the random tiny LM, float32 too, now and then draws
    # a text id (negative here), so: every id is in the vocabulary and most are speech tokens.
    assert all(-1024 <= token < N_AUDIO_TOKENS for token in tokens)
    assert sum(0 <= token < N_AUDIO_TOKENS for token in tokens) >= 0.75 * len(tokens)
    assert audio.dtype == np.float32 and np.all(np.isfinite(audio))
    assert 2 * n_text * 960 <= audio.size <= 4 * n_text * 960 + 2 * 480  # duration follows the tokens
    assert np.abs(audio).max() <= 1.0
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    assert 20 * np.log10(rms) > -60.0
    spectrum = np.abs(np.fft.rfft(audio))
    assert spectrum[1:].sum() > 10 * spectrum[0]


def test_same_seed_same_audio(quant_engine, voice) -> None:
    first = quant_engine.synthesize(TEXT, voice, SynthesisOptions(seed=11))
    second = quant_engine.synthesize(TEXT, voice, SynthesisOptions(seed=11))
    assert np.array_equal(first, second)
    other = quant_engine.synthesize(TEXT, voice, SynthesisOptions(seed=12))
    assert other.size != first.size or not np.allclose(other, first)


def test_bad_mode_is_a_clear_error(tiny_ckpt) -> None:
    with pytest.raises(InvalidOptionError, match="int8, int4"):
        create_engine(EngineConfig(name="glm", ckpt_dir=tiny_ckpt, extra={"llm_quant": "int3"}))
    assert parse_quant_mode(None) == "none" and parse_quant_mode("INT8") == "int8"


def test_setting_and_cli_flag_reach_the_engine_config() -> None:
    from pydantic import ValidationError

    from glmtts.cli.engine_flags import add_engine_flags, engine_config_from
    from glmtts.serving.settings import ServeSettings

    assert ServeSettings(engine="glm", llm_quant="int4").engine_config().extra["llm_quant"] == "int4"
    assert "llm_quant" not in ServeSettings(engine="glm").engine_config().extra
    with pytest.raises(ValidationError):
        ServeSettings(llm_quant="int5")
    parser = argparse.ArgumentParser()
    add_engine_flags(parser)
    config = engine_config_from(parser.parse_args(["--engine", "glm", "--llm-quant", "int8"]))
    assert config.extra["llm_quant"] == "int8"
    with pytest.raises(SystemExit):
        parser.parse_args(["--llm-quant", "fp4"])
