"""Text tokenizer of GLM-TTS (``vq32k-phoneme-tokenizer/``), read as data, without ``trust_remote_code``.

The directory holds a ChatGLM4-style tiktoken rank table ``tokenizer.model`` (one ``base64(bytes) rank``
line per token, ranks contiguous from 0) and Hugging Face token files for the specials, phoneme tokens
(``<|SH|>``) and audio tokens (``<|audio_0|>`` …). Added tokens (each one id, never split) are found where
the official ``ChatGLM4Tokenizer`` (a ``transformers`` slow tokenizer) finds them:

* ``tokenizer_config.json`` ``added_tokens_decoder`` (id → token); when it is absent, the legacy files
  ``added_tokens.json`` (token → id) and ``special_tokens_map.json`` are read instead, as ``transformers``
  does;
* ``<|…|>`` entries of the rank table itself keep their rank as id;
* special tokens *declared* by name (``eos_token``, ``pad_token`` …, then ``additional_special_tokens`` /
  ``extra_special_tokens``) in ``tokenizer_config.json`` or ``special_tokens_map.json``: one that is in
  the rank table keeps its rank, any other gets the next id after the vocabulary, in that order
  (``transformers``' rule for special tokens missing from the vocabulary).

A token the engine needs that none of these provide raises :class:`CheckpointError` naming it. Encoding
first cuts the text at every added token, each becoming one id, then byte-level BPE encodes the rest with
``tiktoken`` and the ChatGLM4 split pattern. No BOS or prefix tokens are added, as upstream's
``tokenize_fn`` (a plain ``encode``) gives.

Usage::

    tokenizer = TextTokenizer.from_dir(layout.tokenizer_dir)
    ids = tokenizer.encode("你好，世界。")
    special = tokenizer.special_token_ids()  # ats/ate/boa/eoa/pad for the LLM
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glmtts.engines.glm.checkpoint import DOWNLOAD_HINT, read_json
from glmtts.engines.glm.llm import SpecialTokenIds
from glmtts.errors import CheckpointError

_LOGGER = logging.getLogger(__name__)

#: ChatGLM4's pre-tokenisation pattern (GPT-4 style, digits in groups of up to three).
GLM4_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
PAD_TOKEN = "<|endoftext|>"
BOA_TOKEN = "<|begin_of_audio|>"
EOA_TOKEN = "<|user|>"
AUDIO_TOKEN_FORMAT = "<|audio_{}|>"
_ATOMIC_RANK_ENTRY = re.compile(r"<\|[^|<>\s]+\|>")
_AUDIO_TOKEN = re.compile(r"<\|audio_(\d+)\|>")


def read_rank_table(path: Path) -> dict[bytes, int]:
    """Parse a tiktoken rank file; raise :class:`CheckpointError` naming the line on malformed input."""
    if not path.is_file():
        raise CheckpointError(f"missing text tokenizer rank table: {path} not found; {DOWNLOAD_HINT}")
    ranks: dict[bytes, int] = {}
    with path.open("r", encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                if len(fields) != 2:
                    raise ValueError("expected '<base64 token> <rank>'")
                ranks[base64.b64decode(fields[0], validate=True)] = int(fields[1])
            except (ValueError, binascii.Error) as exc:
                raise CheckpointError(f"{path}:{line_number}: malformed rank entry ({exc})") from exc
    if not ranks:
        raise CheckpointError(f"{path} holds no tokens")
    if sorted(ranks.values()) != list(range(len(ranks))):
        raise CheckpointError(f"{path}: ranks must be unique and contiguous from 0")
    return ranks


#: ``transformers``' named special-token attributes, in the order it adds missing ones.
_NAMED_SPECIALS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
_EXTRA_SPECIALS = ("additional_special_tokens", "extra_special_tokens")
_TOKEN_SOURCES = "tokenizer.model, tokenizer_config.json, added_tokens.json or special_tokens_map.json"


@dataclass(frozen=True)
class AddedTokens:
    """Added tokens with explicit ids, and special tokens declared by name only (ids still to assign)."""

    ids: dict[str, int]
    declared: tuple[str, ...] = ()


def _token_text(value: Any, source: Path) -> str:
    content = value.get("content") if isinstance(value, dict) else value
    if not isinstance(content, str):
        raise CheckpointError(f"{source}: malformed special token {value!r}")
    return content


def _declared_specials(mapping: dict[str, Any], source: Path) -> list[str]:
    """Special tokens named in a tokenizer config or special-tokens map, in ``transformers``' order."""
    declared = [_token_text(mapping[key], source) for key in _NAMED_SPECIALS if mapping.get(key) is not None]
    for key in _EXTRA_SPECIALS:
        extras = mapping.get(key) or []
        if isinstance(extras, dict):
            extras = list(extras.values())
        if not isinstance(extras, list):
            raise CheckpointError(f"{source}: {key} must be a list")
        declared.extend(_token_text(value, source) for value in extras)
    return list(dict.fromkeys(declared))


def _decoder_ids(decoder: Any, source: Path) -> dict[str, int]:
    if not isinstance(decoder, dict):
        raise CheckpointError(f"{source}: added_tokens_decoder must be an object")
    ids: dict[str, int] = {}
    for token_id, entry in decoder.items():
        if not str(token_id).isdigit():
            raise CheckpointError(f"{source}: malformed added token {token_id!r}")
        ids[_token_text(entry, source)] = int(token_id)
    return ids


def _legacy_ids(path: Path) -> dict[str, int]:
    if not path.is_file():
        return {}
    ids: dict[str, int] = {}
    for content, token_id in read_json(path).items():
        if isinstance(token_id, bool) or not isinstance(token_id, int):
            raise CheckpointError(f"{path}: id of {content!r} must be an integer")
        ids[content] = token_id
    return ids


def read_added_tokens(directory: Path) -> AddedTokens:
    """Added tokens and declared specials of a tokenizer directory (see the module docstring)."""
    config_path = directory / "tokenizer_config.json"
    config: dict[str, Any] = read_json(config_path) if config_path.is_file() else {}
    declared = _declared_specials(config, config_path)
    if "added_tokens_decoder" in config:
        return AddedTokens(_decoder_ids(config["added_tokens_decoder"], config_path), tuple(declared))
    map_path = directory / "special_tokens_map.json"
    if map_path.is_file():
        declared = list(dict.fromkeys([*declared, *_declared_specials(read_json(map_path), map_path)]))
    return AddedTokens(_legacy_ids(directory / "added_tokens.json"), tuple(declared))


def _with_declared_specials(ranks: dict[bytes, int], added: AddedTokens) -> dict[str, int]:
    """Explicit ids, ``<|…|>`` rank entries, then new ids for declared specials found nowhere else.

    New ids start at ``len(ranks) + len(explicit ids)`` (``len(get_vocab())`` in ``transformers``); an id
    already taken is skipped, where ``transformers`` would silently give two tokens one id.
    """
    ids = dict(added.ids)
    next_id = len(ranks) + len(ids)
    for entry, rank in ranks.items():
        if _ATOMIC_RANK_ENTRY.fullmatch(entry.decode("utf-8", errors="replace")):
            ids.setdefault(entry.decode("utf-8"), rank)
    taken = set(ids.values()) | set(range(len(ranks)))
    for token in added.declared:
        if token in ids:
            continue
        token_id = ranks.get(token.encode("utf-8"))
        if token_id is None:
            while next_id in taken:
                next_id += 1
            token_id = next_id
            taken.add(token_id)
        ids[token] = token_id
    return ids


class TextTokenizer:
    """Byte-level BPE (tiktoken) plus atomic added tokens, as the GLM-TTS tokenizer encodes."""

    def __init__(
        self,
        ranks: dict[bytes, int],
        added: AddedTokens | dict[str, int],
        split_pattern: str = GLM4_SPLIT_PATTERN,
    ) -> None:
        import regex
        import tiktoken

        added = _with_declared_specials(
            ranks, added if isinstance(added, AddedTokens) else AddedTokens(added)
        )
        self._encoding = tiktoken.Encoding(
            name="glmtts_text", pat_str=split_pattern, mergeable_ranks=ranks, special_tokens={}
        )
        self._added = dict(added)
        self._id_to_added = {token_id: text for text, token_id in added.items()}
        self._n_ranks = len(ranks)
        # ``<|…|>`` tokens (tens of thousands of audio/phoneme tokens) are found by one generic pattern and
        # looked up; only the few other added tokens (e.g. ``[MASK]``) are spelled out in the alternation.
        others = sorted((t for t in added if not _ATOMIC_RANK_ENTRY.fullmatch(t)), key=len, reverse=True)
        self._added_pattern = regex.compile(
            "|".join([_ATOMIC_RANK_ENTRY.pattern, *map(regex.escape, others)])
        )

    @classmethod
    def from_dir(cls, directory: Path) -> TextTokenizer:
        """Read ``directory/tokenizer.model`` and the added-token files next to it."""
        ranks = read_rank_table(directory / "tokenizer.model")
        added = read_added_tokens(directory)
        config_path = directory / "tokenizer_config.json"
        config: dict[str, Any] = read_json(config_path) if config_path.is_file() else {}
        pattern = config.get("pat_str", GLM4_SPLIT_PATTERN)
        _LOGGER.debug("text tokenizer: %d ranks, %d added tokens", len(ranks), len(added.ids))
        return cls(ranks, added, pattern)

    @property
    def vocab_size(self) -> int:
        return max(self._n_ranks - 1, *self._added.values()) + 1 if self._added else self._n_ranks

    def token_id(self, token: str) -> int:
        """Id of an atomic token such as ``<|user|>``; :class:`CheckpointError` if it is unknown."""
        try:
            return self._added[token]
        except KeyError:
            raise CheckpointError(
                f"text tokenizer has no token {token!r} (looked in {_TOKEN_SOURCES}); {DOWNLOAD_HINT}"
            ) from None

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no BOS); ``<|…|>`` tokens known to the vocabulary become single ids."""
        ids: list[int] = []
        position = 0
        for match in self._added_pattern.finditer(text):
            token_id = self._added.get(match.group())
            if token_id is None:
                continue  # an unknown ``<|…|>`` spelling is ordinary text
            ids.extend(self._encoding.encode_ordinary(text[position : match.start()]))
            ids.append(token_id)
            position = match.end()
        ids.extend(self._encoding.encode_ordinary(text[position:]))
        return ids

    def decode(self, ids: list[int]) -> str:
        """Text of ``ids`` (for logs and tests)."""
        pieces: list[str] = []
        pending: list[int] = []
        for token_id in ids:
            if token_id in self._id_to_added:
                pieces.append(self._encoding.decode(pending))
                pending = []
                pieces.append(self._id_to_added[token_id])
            else:
                pending.append(token_id)
        pieces.append(self._encoding.decode(pending))
        return "".join(pieces)

    def special_token_ids(self) -> SpecialTokenIds:
        """Resolve pad/eoa/boa and the audio-token range, checking that audio ids are contiguous."""
        audio = {
            int(m.group(1)): token_id
            for text, token_id in self._added.items()
            if (m := _AUDIO_TOKEN.fullmatch(text))
        }
        if 0 not in audio:
            raise CheckpointError(
                f"text tokenizer has no token {AUDIO_TOKEN_FORMAT.format(0)!r} (looked in {_TOKEN_SOURCES}); "
                f"{DOWNLOAD_HINT}"
            )
        last = max(audio)
        ats = audio[0]
        if any(audio.get(index) != ats + index for index in range(last + 1)):
            raise CheckpointError("text tokenizer audio tokens are not contiguous ids")
        special = SpecialTokenIds(
            pad=self.token_id(PAD_TOKEN),
            eoa=self.token_id(EOA_TOKEN),
            boa=self.token_id(BOA_TOKEN),
            ats=ats,
            ate=audio[last],
        )
        if min(special.eoa, special.boa, special.ats) < special.pad:
            raise CheckpointError("text tokenizer special ids must not be below <|endoftext|>")
        return special
