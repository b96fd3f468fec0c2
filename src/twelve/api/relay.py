"""Bytes between a one-off's streams (a terminal's master, or pipes) and its caller.

Reads and writes are non-blocking on the descriptors, so a slow caller holds a fast process back
(its pipe fills) instead of the daemon buffering without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import Callable

READ_SIZE = 64 * 1024


class FdStream:
    """One descriptor read and written from the event loop; closed once, by ``close``."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self._loop = asyncio.get_running_loop()
        self.closed = False

    async def read(self) -> bytes:
        """The next bytes; b"" at the end (a terminal whose every user closed it reads EIO)."""
        while not self.closed:
            try:
                return os.read(self.fd, READ_SIZE)
            except BlockingIOError:
                await self._ready(self._loop.add_reader, self._loop.remove_reader)
            except OSError as exc:
                if exc.errno == errno.EIO:
                    return b""
                raise
        return b""

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self.closed:
            try:
                written = os.write(self.fd, view)
            except BlockingIOError:
                await self._ready(self._loop.add_writer, self._loop.remove_writer)
                continue
            view = view[written:]

    async def _ready(self, add: Callable[..., object], remove: Callable[[int], object]) -> None:
        ready: asyncio.Future[None] = self._loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        add(self.fd, wake)
        try:
            await ready
        finally:
            remove(self.fd)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                os.close(self.fd)
