"""A one-producer, one-consumer stream of items from the model thread to sync or async code.

The producer (the worker thread) calls :meth:`ChunkStream.put`, then :meth:`finish` or :meth:`fail`. The
consumer iterates with ``for`` (blocking, from any thread) or ``async for`` (from the event loop the stream
was created in, without blocking it). Cancelling the stream sets its cancel token, so the producer stops at
its next item; that is how a client disconnect cancels synthesis.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
from collections.abc import AsyncIterator, Iterator
from typing import Generic, TypeVar

from glmtts.engines.base import CancelToken

T = TypeVar("T")

_ITEM, _END, _ERROR = 0, 1, 2


class ChunkStream(Generic[T]):
    """Items produced on the model thread, consumed once from sync or async code."""

    def __init__(self, token: CancelToken | None = None) -> None:
        self.token = token or CancelToken()
        self._items: queue.SimpleQueue[tuple[int, object]] = queue.SimpleQueue()
        self._closed = False
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._wakeup = asyncio.Event() if self._loop is not None else None

    # ------------------------------------------------------------------ producer side
    def put(self, item: T) -> None:
        self._push(_ITEM, item)

    def finish(self) -> None:
        self._push(_END, None)

    def fail(self, exc: BaseException) -> None:
        self._push(_ERROR, exc)

    def _push(self, kind: int, value: object) -> None:
        self._items.put((kind, value))
        if self._loop is not None and self._wakeup is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
                self._loop.call_soon_threadsafe(self._wakeup.set)

    # ------------------------------------------------------------------ consumer side
    def cancel(self) -> None:
        """Ask the producer to stop; items already produced are dropped."""
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def _unpack(self, kind: int, value: object) -> T:
        if kind == _ITEM:
            return value  # type: ignore[return-value]
        self._closed = True
        if kind == _ERROR:
            assert isinstance(value, BaseException)
            raise value
        raise StopIteration

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._closed:
            raise StopIteration
        kind, value = self._items.get()
        return self._unpack(kind, value)

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        if self._closed:
            raise StopAsyncIteration
        if self._wakeup is None:
            raise RuntimeError("ChunkStream was created outside an event loop; iterate it synchronously")
        while True:
            try:
                kind, value = self._items.get_nowait()
            except queue.Empty:
                self._wakeup.clear()
                if not self._items.empty():
                    continue
                await self._wakeup.wait()
                continue
            try:
                return self._unpack(kind, value)
            except StopIteration:
                raise StopAsyncIteration from None
