"""Where encoders write: any binary file, or an :class:`AppendOnlySink` whose bytes leave as a stream."""

from __future__ import annotations

import io
import logging
from typing import Any

_LOGGER = logging.getLogger(__name__)


class AppendOnlySink(io.RawIOBase):
    """A write-only file whose new bytes are handed out by :meth:`take`, for encoders feeding a stream.

    Bytes already taken cannot change any more: a later write that lands before the taken mark is dropped
    (only the part past the mark is kept). That is how an encoder that goes back at close to fill in a
    header (WAV sizes, FLAC STREAMINFO) still works on a stream: the client keeps the "unknown" values,
    which both formats allow. Nothing already taken stays in memory.
    """

    def __init__(self) -> None:
        super().__init__()
        self._taken = 0  # absolute offset of the first byte not yet taken
        self._pending = bytearray()  # bytes from ``_taken`` on
        self._position = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        end = self._taken + len(self._pending)
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: end}[whence]
        self._position = max(0, base + offset)
        return self._position

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        size = len(chunk)
        start, end = self._position, self._position + size
        self._position = end
        if end <= self._taken:
            _LOGGER.debug("dropped a %d-byte rewrite of already sent bytes at %d", size, start)
            return size
        if start < self._taken:
            chunk, start = chunk[self._taken - start :], self._taken
        offset = start - self._taken
        if offset > len(self._pending):
            self._pending.extend(b"\0" * (offset - len(self._pending)))
        self._pending[offset : offset + len(chunk)] = chunk
        return size

    def take(self) -> bytes:
        """The bytes written since the last call; they become final."""
        data = bytes(self._pending)
        self._taken += len(data)
        self._pending.clear()
        return data
