"""Request bodies of the JSON endpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator


class SpeechBody(BaseModel):
    """OpenAI ``POST /v1/audio/speech`` body, plus glmtts extensions (``seed``, ``phoneme``, sampling).

    ``model`` may be any id from ``GET /v1/models`` (every id runs the server's one engine).
    ``instructions`` is accepted; engines whose capabilities say ``instructions: false`` ignore it.
    ``timestamps`` (``"segment"`` or ``"word"``) asks for captions (see :mod:`glmtts.serving.api.speech`).
    """

    model_config = ConfigDict(extra="ignore")

    input: str
    model: str = "glmtts"
    voice: str | None = None
    response_format: str = "mp3"
    speed: float = 1.0
    stream: bool = False
    stream_format: Literal["audio", "sse"] = "audio"
    instructions: str | None = None
    seed: int | None = None
    phoneme: bool = False
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    sampling: str | None = None
    timestamps: str | None = None

    @field_validator("voice", mode="before")
    @classmethod
    def _voice_object(cls, value: Any) -> Any:
        """OpenAI also accepts ``{"id": "voice_..."}`` for custom voices."""
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            return value["id"]
        return value
