"""Text tokenizer read from the official file formats (tiny tokenizer written by make_tiny)."""

from __future__ import annotations

import base64
import json

import pytest

pytest.importorskip("tiktoken")

from glmtts.engines.glm.tokenizer import TextTokenizer, read_rank_table
from glmtts.errors import CheckpointError
from tests.support.glm.make_tiny import write_tokenizer


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tok") / "vq32k-phoneme-tokenizer"
    write_tokenizer(directory)
    return directory


@pytest.fixture(scope="module")
def tokenizer(tokenizer_dir) -> TextTokenizer:
    return TextTokenizer.from_dir(tokenizer_dir)


def test_special_ids_match_the_tiny_llm_layout(tokenizer):
    special = tokenizer.special_token_ids()
    assert (special.pad, special.eoa, special.boa, special.ats, special.ate) == (1000, 1003, 1004, 1024, 2047)
    assert tokenizer.encode("<|user|>") == [1003]
    assert tokenizer.vocab_size == 2048


@pytest.mark.parametrize(
    "text", ["你好，世界。", "Hello, world! 123 and 4567.", "mixed 中文 and English?", " a  b\n"]
)
def test_encode_decode_round_trip_without_bos(tokenizer, text):
    ids = tokenizer.encode(text)
    assert ids and all(0 <= i < 1000 for i in ids)
    assert tokenizer.decode(ids) == text


def test_phoneme_and_audio_tokens_are_single_ids(tokenizer):
    ids = tokenizer.encode("重<|CH|><|ONG2|>要<|audio_7|>")
    assert ids[-1] == 1024 + 7
    phonemes = tokenizer.encode("<|CH|><|ONG2|>")
    assert len(phonemes) == 2 and all(800 <= i < 1000 for i in phonemes)
    assert tokenizer.encode("<|NOT_A_TOKEN|>") != [tokenizer.encode("<|CH|>")[0]]


def test_bpe_merges_frequent_pieces(tokenizer):
    assert len(tokenizer.encode("你好")) < len("你好".encode())


def test_malformed_rank_file_names_the_line(tmp_path):
    path = tmp_path / "tokenizer.model"
    path.write_text(f"{base64.b64encode(b'a').decode()} 0\nnot-base64!! 1\n")
    with pytest.raises(CheckpointError, match=r"tokenizer.model:2"):
        read_rank_table(path)


def test_missing_rank_file_and_missing_audio_tokens(tmp_path, tokenizer_dir):
    with pytest.raises(CheckpointError, match="download"):
        TextTokenizer.from_dir(tmp_path)
    (tmp_path / "tokenizer.model").write_bytes((tokenizer_dir / "tokenizer.model").read_bytes())
    config = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
    config["added_tokens_decoder"] = {
        k: v for k, v in config["added_tokens_decoder"].items() if "audio" not in v["content"]
    }
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="audio_0"):
        TextTokenizer.from_dir(tmp_path).special_token_ids()
