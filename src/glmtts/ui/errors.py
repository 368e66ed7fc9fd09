"""Turn failures inside UI event handlers into readable messages, never stack traces.

A :class:`~glmtts.errors.GlmttsError` becomes a ``gr.Error`` carrying its own message (the same text the
HTTP API returns); anything else is logged once with its traceback and shown as a short generic message.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from glmtts.errors import GlmttsError, OverloadedError

_LOGGER = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def readable_message(exc: BaseException) -> str:
    """The message a user sees for ``exc``."""
    if isinstance(exc, OverloadedError):
        return f"The server is busy: {exc.message} (retry in about {exc.retry_after_s:.0f} s)"
    if isinstance(exc, GlmttsError):
        return exc.message
    return "Internal error; the server log has the details."


def to_gradio_error(exc: BaseException) -> Exception:
    """A ``gr.Error`` for ``exc`` (logged with a traceback when it is not a typed glmtts error)."""
    import gradio as gr

    if isinstance(exc, gr.Error):
        return exc
    if not isinstance(exc, GlmttsError):
        _LOGGER.error("UI handler failed", exc_info=exc)
    title = "Invalid input" if isinstance(exc, GlmttsError) and exc.kind == "input" else "Error"
    return gr.Error(readable_message(exc), title=title, print_exception=False)


def ui_handler(func: F) -> F:
    """Decorate a Gradio event handler (plain, generator or async) so failures reach the user as ``gr.Error``."""
    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def generator_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from func(*args, **kwargs)
            except Exception as exc:  # boundary: every failure becomes a readable message
                raise to_gradio_error(exc) from None

        return generator_wrapper  # type: ignore[return-value]

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def coroutine_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await func(*args, **kwargs)
            except Exception as exc:  # boundary: every failure becomes a readable message
                raise to_gradio_error(exc) from None

        return coroutine_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:  # boundary: every failure becomes a readable message
            raise to_gradio_error(exc) from None

    return wrapper  # type: ignore[return-value]
