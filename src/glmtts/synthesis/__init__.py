"""What every front end shares and what works without a server: the request, decoder, worker, service.

``open_runtime(engine_config)`` builds and loads an in-process runtime; the server composes the same
pieces (:mod:`glmtts.serving.composition`). The path of a request: a front end decodes its input once
with :class:`RequestDecoder` into a :class:`SynthesisRequest`, and :meth:`SynthesisService.run` turns it
into a :class:`SynthesisStream` of audio chunks and a summary.
"""

from glmtts.synthesis.host import EngineHost
from glmtts.synthesis.lifecycle import Lifecycle, Phase
from glmtts.synthesis.request import (
    Defaults,
    Limits,
    RequestDecoder,
    SynthesisRequest,
    parse_bool,
    parse_number,
)
from glmtts.synthesis.runtime import Runtime, RuntimeConfig, build_runtime, engine_config, open_runtime
from glmtts.synthesis.service import SynthesisService
from glmtts.synthesis.stream import Summary, Synthesis, SynthesisEvent, SynthesisStream, Timings
from glmtts.synthesis.worker import ModelWorker, Priority, QueueLimits

__all__ = [
    "Defaults",
    "EngineHost",
    "Lifecycle",
    "Limits",
    "ModelWorker",
    "Phase",
    "Priority",
    "QueueLimits",
    "RequestDecoder",
    "Runtime",
    "RuntimeConfig",
    "Summary",
    "Synthesis",
    "SynthesisEvent",
    "SynthesisRequest",
    "SynthesisService",
    "SynthesisStream",
    "Timings",
    "build_runtime",
    "engine_config",
    "open_runtime",
    "parse_bool",
    "parse_number",
]
