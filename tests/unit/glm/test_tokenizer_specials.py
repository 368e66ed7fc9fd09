"""Special tokens are found wherever the official ChatGLM4Tokenizer finds them, one tiny directory per source."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

pytest.importorskip("tiktoken")

from glmtts.engines.glm.tokenizer import TextTokenizer
from glmtts.errors import CheckpointError

N_BYTES = 256
NAMED = ["<|endoftext|>", "<|user|>", "<|begin_of_audio|>"]
AUDIO = [f"<|audio_{index}|>" for index in range(4)]


def _directory(tmp_path: Path, rank_extras: list[str] = (), **files: object) -> Path:
    """A rank table of the 256 single bytes (+ ``rank_extras`` as rank entries) and the given JSON files."""
    tokens = [bytes([value]) for value in range(N_BYTES)] + [token.encode() for token in rank_extras]
    lines = [f"{base64.b64encode(token).decode()} {rank}" for rank, token in enumerate(tokens)]
    (tmp_path / "tokenizer.model").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, content in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(content), encoding="utf-8")
    return tmp_path


def _ids(tokenizer: TextTokenizer) -> tuple[int, int, int, int, int]:
    special = tokenizer.special_token_ids()
    return special.pad, special.eoa, special.boa, special.ats, special.ate


def _assert_atomic(tokenizer: TextTokenizer) -> None:
    for token in NAMED + AUDIO:
        assert tokenizer.encode(f"a{token}b") == [ord("a"), tokenizer.token_id(token), ord("b")]


def test_rank_table_entries(tmp_path: Path) -> None:
    tokenizer = TextTokenizer.from_dir(_directory(tmp_path, NAMED + AUDIO))
    assert _ids(tokenizer) == (256, 257, 258, 259, 262)
    _assert_atomic(tokenizer)


def test_tokenizer_config_added_tokens_decoder(tmp_path: Path) -> None:
    decoder = {str(300 + i): {"content": token, "special": True} for i, token in enumerate(NAMED + AUDIO)}
    tokenizer = TextTokenizer.from_dir(
        _directory(tmp_path, tokenizer_config={"added_tokens_decoder": decoder})
    )
    assert _ids(tokenizer) == (300, 301, 302, 303, 306)
    _assert_atomic(tokenizer)


def test_added_tokens_json(tmp_path: Path) -> None:
    added = {token: 400 + i for i, token in enumerate(NAMED + AUDIO)}
    tokenizer = TextTokenizer.from_dir(_directory(tmp_path, added_tokens=added))
    assert _ids(tokenizer) == (400, 401, 402, 403, 406)
    _assert_atomic(tokenizer)


def test_special_tokens_map_gets_ids_after_the_vocabulary_in_transformers_order(tmp_path: Path) -> None:
    special_map = {
        "additional_special_tokens": [{"content": "<|user|>", "lstrip": False}, "<|begin_of_audio|>", *AUDIO],
        "eos_token": {"content": "<|endoftext|>"},  # named attributes come before the extra ones
    }
    tokenizer = TextTokenizer.from_dir(_directory(tmp_path, special_tokens_map=special_map))
    assert _ids(tokenizer) == (256, 257, 258, 259, 262)
    _assert_atomic(tokenizer)


def test_specials_declared_in_tokenizer_config_keep_rank_or_follow_added_ids(tmp_path: Path) -> None:
    config = {"eos_token": "<|endoftext|>", "additional_special_tokens": ["<|user|>", "<|begin_of_audio|>"]}
    added = {token: 300 + i for i, token in enumerate(AUDIO)}
    tokenizer = TextTokenizer.from_dir(
        _directory(tmp_path, ["<|endoftext|>"], tokenizer_config=config, added_tokens=added)
    )
    # <|endoftext|> is rank 256; the other two get the ids after the vocabulary (257 ranks + 4 added).
    assert _ids(tokenizer) == (256, 261, 262, 300, 303)


def test_added_tokens_decoder_makes_the_legacy_files_unread_like_transformers(tmp_path: Path) -> None:
    decoder = {str(300 + i): {"content": token} for i, token in enumerate(["<|endoftext|>", *AUDIO])}
    directory = _directory(
        tmp_path,
        tokenizer_config={"added_tokens_decoder": decoder},
        special_tokens_map={"additional_special_tokens": ["<|user|>", "<|begin_of_audio|>"]},
        added_tokens={"<|user|>": 500},
    )
    with pytest.raises(CheckpointError, match=r"no token '<\|user\|>'.*special_tokens_map\.json"):
        TextTokenizer.from_dir(directory).special_token_ids()


@pytest.mark.parametrize("missing", ["<|begin_of_audio|>", "<|audio_0|>", "<|endoftext|>"])
def test_missing_token_is_named(tmp_path: Path, missing: str) -> None:
    present = [token for token in NAMED + AUDIO if token != missing]
    tokenizer = TextTokenizer.from_dir(_directory(tmp_path, present))
    with pytest.raises(CheckpointError, match=f"no token '{missing.replace('|', '[|]')}'"):
        tokenizer.special_token_ids()


def test_malformed_special_entries_are_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"special_tokens_map\.json"):
        TextTokenizer.from_dir(_directory(tmp_path, special_tokens_map={"eos_token": 7}))
    with pytest.raises(CheckpointError, match=r"added_tokens\.json"):
        TextTokenizer.from_dir(_directory(tmp_path, special_tokens_map={}, added_tokens={"<|user|>": "x"}))
