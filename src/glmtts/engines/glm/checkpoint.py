"""Checkpoint layout discovery and safe loading for the GLM-TTS engine.

A GLM-TTS checkpoint directory is what ``huggingface-cli download zai-org/GLM-TTS --local-dir DIR`` writes::

    DIR/llm/config.json + model*.safetensors        Llama speech-token LM
    DIR/vq32k-phoneme-tokenizer/tokenizer.model      tiktoken rank table (+ tokenizer_config.json)
    DIR/speech_tokenizer/{config.json, model*.safetensors, preprocessor_config.json}
    DIR/flow/flow.pt + flow/config.yaml              flow-matching DiT
    DIR/hift/hift.pt                                 24 kHz vocoder
    DIR/vocos2d/                                     optional 32 kHz vocoder
    DIR/campplus.onnx or DIR/../frontend/campplus.onnx   speaker encoder (from the GitHub repository)

Nothing here executes code from the checkpoint: JSON is parsed as data, YAML is read with a loader that
turns every ``!tag`` into plain data, and ``torch.load`` always runs with ``weights_only=True``. Every
problem is reported as a :class:`~glmtts.errors.CheckpointError` naming the file (and key) and what to
download.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glmtts.errors import CheckpointError, InvalidOptionError

if TYPE_CHECKING:
    import torch

_LOGGER = logging.getLogger(__name__)

#: How to obtain the files of the Hugging Face repository.
DOWNLOAD_HINT = "download it with `huggingface-cli download zai-org/GLM-TTS --local-dir <ckpt>`"
#: How to obtain the speaker encoder, which is not part of the Hugging Face repository.
CAMPPLUS_HINT = (
    "copy campplus.onnx from the GitHub repository zai-org/GLM-TTS (frontend/campplus.onnx) or from "
    "FunAudioLLM/CosyVoice-300M into the checkpoint directory"
)
#: File names of an optional bundled prompt clip (used for the built-in voice).
DEFAULT_PROMPT_WAV = "default_prompt.wav"
DEFAULT_PROMPT_TEXT = "default_prompt.txt"

_DTYPE_NAMES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class CheckpointLayout:
    """Resolved paths of every component of a GLM-TTS checkpoint directory."""

    root: Path
    llm_dir: Path
    tokenizer_dir: Path
    speech_tokenizer_dir: Path
    flow_dir: Path
    hift_path: Path
    campplus_path: Path
    vocos_dir: Path | None = None
    default_prompt_wav: Path | None = None
    default_prompt_text: Path | None = None


def _require_file(path: Path, what: str, hint: str = DOWNLOAD_HINT) -> Path:
    if not path.is_file():
        raise CheckpointError(f"missing {what}: {path} not found; {hint}")
    return path


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise CheckpointError(f"missing {what}: directory {path} not found; {DOWNLOAD_HINT}")
    return path


def find_campplus(root: Path) -> Path:
    """Return the CAMPPlus ONNX file in ``root`` or ``root/../frontend/`` (upstream keeps it there)."""
    for candidate in (
        root / "campplus.onnx",
        root / "frontend" / "campplus.onnx",
        root.parent / "frontend" / "campplus.onnx",
    ):
        if candidate.is_file():
            return candidate
    raise CheckpointError(
        f"missing speaker encoder: campplus.onnx not found in {root} or {root.parent / 'frontend'}; {CAMPPLUS_HINT}"
    )


def discover_layout(ckpt_dir: Path | str | None) -> CheckpointLayout:
    """Check that ``ckpt_dir`` holds a complete GLM-TTS checkpoint and return its paths.

    Raises:
        CheckpointError: naming the first missing directory or file and how to get it.
    """
    if ckpt_dir is None:
        raise CheckpointError(f"the glm engine needs a checkpoint directory (--ckpt DIR); {DOWNLOAD_HINT}")
    root = Path(ckpt_dir).expanduser()
    if not root.is_dir():
        raise CheckpointError(f"checkpoint directory {root} does not exist; {DOWNLOAD_HINT}")
    llm_dir = _require_dir(root / "llm", "LLM")
    _require_file(llm_dir / "config.json", "LLM config")
    safetensor_files(llm_dir, "LLM")
    tokenizer_dir = _require_dir(root / "vq32k-phoneme-tokenizer", "text tokenizer")
    _require_file(tokenizer_dir / "tokenizer.model", "text tokenizer rank table")
    speech_dir = _require_dir(root / "speech_tokenizer", "speech tokenizer")
    _require_file(speech_dir / "config.json", "speech tokenizer config")
    safetensor_files(speech_dir, "speech tokenizer")
    flow_dir = _require_dir(root / "flow", "flow model")
    _require_file(flow_dir / "flow.pt", "flow weights")
    _require_file(flow_dir / "config.yaml", "flow config")
    hift_path = _require_file(root / "hift" / "hift.pt", "HiFT vocoder weights")
    vocos_dir = root / "vocos2d"
    prompt_wav = root / DEFAULT_PROMPT_WAV
    prompt_text = root / DEFAULT_PROMPT_TEXT
    return CheckpointLayout(
        root=root,
        llm_dir=llm_dir,
        tokenizer_dir=tokenizer_dir,
        speech_tokenizer_dir=speech_dir,
        flow_dir=flow_dir,
        hift_path=hift_path,
        campplus_path=find_campplus(root),
        vocos_dir=vocos_dir if vocos_dir.is_dir() else None,
        default_prompt_wav=prompt_wav if prompt_wav.is_file() else None,
        default_prompt_text=prompt_text if prompt_text.is_file() else None,
    )


def read_json(path: Path) -> dict[str, Any]:
    """Parse a JSON object file, raising :class:`CheckpointError` when it is missing or malformed."""
    _require_file(path, "JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot parse {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} must hold a JSON object")
    return data


def read_tagged_yaml(path: Path) -> dict[str, Any]:
    """Read a (Hyper)PyYAML file as plain data: ``!new:pkg.Class`` mappings become dicts with a ``_tag`` key.

    No object is constructed and no module is imported, whatever tags the file uses.
    """
    import yaml

    class _TagStrippingLoader(yaml.SafeLoader):
        pass

    def _construct_tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            data: dict[str, Any] = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
            data["_tag"] = node.tag
            return data
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)  # type: ignore[arg-type]

    _TagStrippingLoader.add_multi_constructor("!", _construct_tagged)
    _require_file(path, "YAML config")
    try:
        data = yaml.load(
            path.read_text(encoding="utf-8"), Loader=_TagStrippingLoader
        )  # a SafeLoader subclass
    except (OSError, yaml.YAMLError) as exc:
        raise CheckpointError(f"cannot parse {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} must hold a YAML mapping")
    return data


def safetensor_files(directory: Path, what: str) -> list[Path]:
    """The ``*.safetensors`` files of ``directory`` (sharded or single), sorted."""
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        raise CheckpointError(
            f"missing {what} weights: no *.safetensors file in {directory}; {DOWNLOAD_HINT}"
        )
    return files


def resolve_dtype(name: str) -> torch.dtype:
    """Map ``"float32" | "bfloat16" | "float16"`` to a torch dtype."""
    import torch

    if name not in _DTYPE_NAMES:
        raise InvalidOptionError(f"unsupported dtype {name!r}; choose one of {', '.join(_DTYPE_NAMES)}")
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def resolve_device(name: str) -> torch.device:
    """Parse a device string (``cpu``, ``cuda``, ``cuda:1``, ``mps``) and check that it is usable."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise InvalidOptionError(f"invalid device {name!r}: {exc}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidOptionError("device 'cuda' requested but CUDA is not available")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidOptionError("device 'mps' requested but MPS is not available")
    return device


def load_safetensors(
    files: Iterable[Path],
    prefix: str = "",
    keep: Any = None,
) -> dict[str, torch.Tensor]:
    """Read tensors whose names start with ``prefix`` (stripped) from safetensors ``files`` on CPU.

    ``keep``: optional predicate on the stripped name; tensors it rejects are never read.
    """
    from safetensors import SafetensorError, safe_open

    tensors: dict[str, torch.Tensor] = {}
    for path in files:
        try:
            with safe_open(str(path), framework="pt", device="cpu") as handle:
                for name in handle.keys():  # noqa: SIM118 - safe_open has no __iter__
                    if not name.startswith(prefix):
                        continue
                    short = name[len(prefix) :]
                    if keep is None or keep(short):
                        tensors[short] = handle.get_tensor(name)
        except (OSError, SafetensorError) as exc:
            raise CheckpointError(f"cannot read {path}: {exc}; {DOWNLOAD_HINT}") from exc
    return tensors


def load_torch_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """``torch.load`` a state dict with ``weights_only=True``, unwrapping a ``{"model": ...}`` container."""
    import torch

    _require_file(path, "weights")
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or unsafe pickles
        raise CheckpointError(
            f"cannot load {path} safely (weights_only=True): {exc}; {DOWNLOAD_HINT}"
        ) from exc
    if isinstance(data, Mapping) and isinstance(data.get("model"), Mapping):
        data = data["model"]
    if not isinstance(data, Mapping) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{path} does not hold a tensor state dict")
    return dict(data)


def check_state_dict(
    expected: Mapping[str, tuple[int, ...]],
    actual: Mapping[str, torch.Tensor],
    source: Path | str,
    ignore_unexpected: bool = False,
) -> None:
    """Raise :class:`CheckpointError` unless ``actual`` has exactly the keys and shapes of ``expected``."""
    missing = [key for key in expected if key not in actual]
    if missing:
        raise CheckpointError(
            f"{source} is missing {len(missing)} tensor(s), e.g. {missing[0]!r}; {DOWNLOAD_HINT}"
        )
    for key, shape in expected.items():
        got = tuple(actual[key].shape)
        if got != tuple(shape):
            raise CheckpointError(f"{source}: tensor {key!r} has shape {list(got)}, expected {list(shape)}")
    if not ignore_unexpected:
        unexpected = [key for key in actual if key not in expected]
        if unexpected:
            raise CheckpointError(
                f"{source} holds {len(unexpected)} unexpected tensor(s), e.g. {unexpected[0]!r}; "
                "is this a GLM-TTS checkpoint?"
            )


def file_bytes(paths: Iterable[Path]) -> int:
    """Total size in bytes of existing ``paths`` (for load progress)."""
    return sum(path.stat().st_size for path in paths if path.is_file())
