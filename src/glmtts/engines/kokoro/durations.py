"""The Kokoro model with its duration predictor exposed: per-token frame counts beside the audio.

The bundled int8 ONNX graph outputs only ``audio``, yet it computes how many acoustic frames each input
token lasts (rounded, clipped and cast to integers, then cumulatively summed to build the alignment
that stretches the text encoding onto the frames). :func:`expose_durations` finds that integer tensor by
its shape in the graph — a ``Cast`` of ``Clip(Round(…))`` (or ``Ceil``) whose values reach a
``CumSum`` — and adds it as a second graph output, ``durations``. Nothing else changes, so the audio is
bit-identical to the original model's; one frame is :data:`SAMPLES_PER_FRAME` samples, so the frames
sum to the audio length exactly. Both facts are checked on a probe sentence whenever the edited model
is built (:func:`check_durations`).

The edited file lives beside the joined model (``<cache root>/kokoro/``), written atomically, with a
stamp keyed by the source model's sha256. Set-up builds it (:meth:`DurationModelCache.prepare`, from
``glmtts doctor --prepare``); a load on an unprepared install builds it itself and says so in the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from glmtts.atomic import atomic_write
from glmtts.engines.kokoro.assets import ModelFile, file_sha256, unprepared
from glmtts.errors import EngineError

_LOGGER = logging.getLogger(__name__)

DURATIONS_FILE_NAME = "kokoro-v1.0.int8.durations.onnx"
DURATIONS_OUTPUT = "durations"
#: Audio samples per acoustic frame of Kokoro v1.0 (24 kHz, the iSTFT hop of its decoder).
SAMPLES_PER_FRAME = 600
#: Probe for the checks (phonemes of "Hello world, this is a test.").
PROBE_PHONEMES = "həlˈO wˈɜɹld, ðˈɪs ˈɪz ɐ tˈɛst."
_ROUNDING_OPS = frozenset({"Round", "Ceil", "Floor"})
_PASS_THROUGH_OPS = frozenset({"Gather", "Squeeze", "Unsqueeze", "Reshape", "Cast", "Identity"})


def find_duration_tensor(graph: Any) -> str:
    """Name of the integer per-token durations in an ONNX ``graph``: the output of a ``Cast`` fed by
    ``Clip(Round/Ceil(…))`` (or the rounding directly) from which a ``CumSum`` is reached through
    shape-only ops. Raises :class:`EngineError` when there is no single such tensor."""
    producer = {output: node for node in graph.node for output in node.output}
    found: list[str] = []
    for node in graph.node:
        if node.op_type != "CumSum":
            continue
        current = producer.get(node.input[0])
        while current is not None and current.op_type in _PASS_THROUGH_OPS:
            if current.op_type == "Cast" and _is_rounded(producer.get(current.input[0]), producer):
                found.append(current.output[0])
                break
            current = producer.get(current.input[0])
    if len(set(found)) != 1:
        raise EngineError(f"cannot find the Kokoro duration predictor's output in the graph (found {found})")
    return found[0]


def _is_rounded(node: Any, producer: Mapping[str, Any]) -> bool:
    if node is not None and node.op_type == "Clip":
        node = producer.get(node.input[0])
    return node is not None and node.op_type in _ROUNDING_OPS


def expose_durations(model: Any) -> str:
    """Add the duration tensor of ``model`` (an ``onnx.ModelProto``, edited in place) as the graph output
    :data:`DURATIONS_OUTPUT` (int64, ``[batch, tokens]``); return the internal tensor's name."""
    import onnx

    graph = model.graph
    if any(output.name == DURATIONS_OUTPUT for output in graph.output):
        raise EngineError("the Kokoro model already has a durations output")
    tensor = find_duration_tensor(graph)
    cast = next(node for node in graph.node if tensor in node.output)
    to_type = next(attr.i for attr in cast.attribute if attr.name == "to")
    graph.node.append(
        onnx.helper.make_node("Identity", [tensor], [DURATIONS_OUTPUT], name="glmtts_durations")
    )
    graph.output.append(onnx.helper.make_tensor_value_info(DURATIONS_OUTPUT, to_type, None))
    return tensor


def check_durations(original: Any, edited: Any, feeds: Mapping[str, np.ndarray]) -> int:
    """Run both sessions on ``feeds``; raise :class:`EngineError` unless the edited model's audio is
    bit-identical and its frames times :data:`SAMPLES_PER_FRAME` equal the audio length. Returns the
    number of audio samples."""
    reference = np.asarray(original.run(["audio"], dict(feeds))[0])
    audio, durations = (np.asarray(out) for out in edited.run(["audio", DURATIONS_OUTPUT], dict(feeds)))
    if audio.shape != reference.shape or not np.array_equal(audio, reference):
        raise EngineError("the Kokoro model with durations exposed does not reproduce the original audio")
    n_frames = int(durations.sum())
    if durations.size != feeds["tokens"].size or n_frames * SAMPLES_PER_FRAME != audio.size:
        raise EngineError(
            f"Kokoro durations do not fit the audio: {durations.size} durations for "
            f"{feeds['tokens'].size} tokens, {n_frames} frames for {audio.size} samples"
        )
    return int(audio.size)


class DurationModelCache:
    """Builds and checks the edited model (durations exposed) beside the joined one."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.model_path = directory / DURATIONS_FILE_NAME
        self.stamp_path = directory / (DURATIONS_FILE_NAME + ".verified")

    def _read_stamp(self) -> dict[str, Any]:
        try:
            stamp = json.loads(self.stamp_path.read_text())
        except (OSError, ValueError):
            return {}
        return stamp if isinstance(stamp, dict) else {}

    def is_ready(self, source: ModelFile, full_check: bool = False) -> bool:
        """True when the edited file exists, was built from ``source`` and is unchanged since (size and
        mtime; its sha256 re-hashed with ``full_check``)."""
        stamp = self._read_stamp()
        if stamp.get("source_sha256") != source.sha256 or not self.model_path.is_file():
            return False
        stat = self.model_path.stat()
        if full_check:
            return file_sha256(self.model_path) == stamp.get("sha256")
        return stamp.get("size") == stat.st_size and stamp.get("mtime_ns") == stat.st_mtime_ns

    def ensure(self, source: ModelFile, n_threads: int = 1) -> Path:
        """The edited model's path, building it (with the checks) when set-up did not."""
        if not self.is_ready(source):
            with unprepared("durations model", "building it", "expose model durations"):
                self.build(source, n_threads)
        return self.model_path

    def prepare(self, source: ModelFile, n_threads: int = 1) -> tuple[Path, bool]:
        """Set-up: build the edited model unless a full re-hash finds it intact; return its path and
        whether it was built."""
        if self.is_ready(source, full_check=True):
            return self.model_path, False
        self.build(source, n_threads)
        return self.model_path, True

    def build(self, source: ModelFile, n_threads: int = 1) -> None:
        """Edit ``source``, check the edit on the probe (:func:`check_durations`), write it atomically."""
        import onnx

        from glmtts.engines.kokoro.assets import load_vocab

        model = onnx.load(str(source.path))
        tensor = expose_durations(model)
        blob = model.SerializeToString()
        ids = [index for symbol in PROBE_PHONEMES if (index := load_vocab().get(symbol)) is not None]
        feeds: dict[str, np.ndarray] = {
            "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
            "style": np.full((1, 256), 0.05, dtype=np.float32),
            "speed": np.array([1.0], dtype=np.float32),
        }
        n_samples = check_durations(
            open_session(source.path, n_threads), open_session(blob, n_threads), feeds
        )
        with atomic_write(self.model_path) as out:
            out.write(blob)
        stat = self.model_path.stat()
        stamp = {
            "source_sha256": source.sha256,
            "sha256": hashlib.sha256(blob).hexdigest(),
            "tensor": tensor,
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
        }
        with atomic_write(self.stamp_path, "w") as out:
            out.write(json.dumps(stamp))
        _LOGGER.info(
            "exposed Kokoro durations (%s) into %s; probe %d samples", tensor, self.model_path, n_samples
        )


def open_session(model: Path | bytes, n_threads: int) -> Any:
    """An onnxruntime session on a model file (or its serialized bytes) with a fixed thread count and
    sequential execution (deterministic)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = n_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model
    try:
        return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        name = model if isinstance(model, Path) else "(edited in memory)"
        raise EngineError(f"cannot open the Kokoro model {name}: {exc}") from exc
