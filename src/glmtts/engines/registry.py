"""Engines register by name; the module that implements one is imported only when it is built."""

from __future__ import annotations

import importlib

from glmtts.engines.base import Engine, EngineConfig
from glmtts.errors import UnknownEngineError

#: engine name -> "module:ClassName"; importing the module is deferred until the engine is built.
_ENGINE_PATHS: dict[str, str] = {
    "kokoro": "glmtts.engines.kokoro.engine:KokoroEngine",
    "glm": "glmtts.engines.glm.engine:GlmEngine",
}


def engine_names() -> tuple[str, ...]:
    """Names of every known engine."""
    return tuple(_ENGINE_PATHS)


def register_engine(name: str, path: str) -> None:
    """Register an engine class given as ``"package.module:ClassName"`` (used by plugins and tests)."""
    _ENGINE_PATHS[name] = path


def engine_class(name: str) -> type[Engine]:
    """Import and return the class implementing engine ``name``."""
    try:
        path = _ENGINE_PATHS[name]
    except KeyError:
        raise UnknownEngineError(
            f"unknown engine {name!r}; choose one of {', '.join(sorted(_ENGINE_PATHS))}"
        ) from None
    module_name, _, class_name = path.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Engine)):
        raise TypeError(f"{path} is not an Engine subclass")
    return cls


def create_engine(config: EngineConfig) -> Engine:
    """Build (but do not load) the engine named by ``config.name``."""
    return engine_class(config.name)(config)
