"""What the proxy's protocols hold of a connection: the ``Stream`` protocol, and why a client
connection stops reading (``Paused``).

Both builds meet ``Stream``: the interpreted router with asyncio's transports, the compiled one
with ``_streams.Stream`` for its connections to web processes, which offers only these methods.
Typing the connections by it lets mypy check the code both run.
"""

from __future__ import annotations

from enum import IntFlag
from typing import Protocol


class Stream(Protocol):
    """The part of ``asyncio.Transport`` the router calls on a connection to or from it."""

    def write(self, data: bytes) -> None:
        """Send ``data``, buffering what the socket does not take now."""

    def close(self) -> None:
        """Close once what is buffered is sent."""

    def abort(self) -> None:
        """Close now, dropping what is buffered."""

    def pause_reading(self) -> None:
        """Stop calling ``data_received`` until ``resume_reading``."""

    def resume_reading(self) -> None:
        """Call ``data_received`` again."""

    def is_closing(self) -> bool:
        """Whether the connection is closed or closing."""


class Paused(IntFlag):
    """Why a client connection stopped reading: it reads again once no reason is left."""

    # The web process's connection has more waiting to be sent than it takes (its
    # ``pause_writing``): the client's next bytes would only add to it.
    UPSTREAM_FULL = 1
    # Bytes or requests the router holds for the client are at their bound: request bytes while
    # no upstream is attached, bytes after an upgrade request, or pipelined requests in line.
    HOLDING = 2
