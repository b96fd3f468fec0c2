"""Connections to web processes and the keep-alive pool of idle ones, per backend.

An ``UpstreamConnection`` parses the backend's responses with httptools and hands each piece to the
``Exchange`` it serves; between requests it waits in the ``Pool``, newest first, so the warmest
connections are reused and the oldest are closed by the idle sweep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from twelve.router.messages import RESPONSE_HOP_BY_HOP, SEP
from twelve.router.table import backend_key

if TYPE_CHECKING:
    from twelve.router.exchange import Exchange

MAX_IDLE_PER_BACKEND: Final = 256
# A placeholder never fed: most connections never need the slow path's parser.
_NO_PARSER: Final = HttpResponseParser(object())


class _Framer:
    """Finds where each response ends without a Python call per header (the fast path).

    An HTTP/1.1 keep-alive response to a plain HTTP/1.1 request passes to the client byte for
    byte; anything else (HTTP/1.0, a body ended by closing, HEAD, 1xx, upgrades) is handed to the
    header-by-header parser of ``UpstreamConnection`` and re-framed.
    """

    __slots__ = (
        "complete",
        "feed",
        "headers_done",
        "keep_alive",
        "parser",
        "plain",
        "status",
        "status_code",
    )

    def __init__(self) -> None:
        self.parser = parser = HttpResponseParser(self)
        # Bound once: a method looked up by name on every response costs more than the call.
        self.feed: Callable[[bytes], None] = parser.feed_data
        self.status_code: Callable[[], int] = parser.get_status_code
        self.keep_alive: Callable[[], bool] = parser.should_keep_alive
        self.headers_done = False
        self.complete = False
        self.plain = False
        self.status = 0

    def on_headers_complete(self) -> None:
        # The version is read off the status line by ``UpstreamConnection`` (one call less).
        self.headers_done = True
        self.status = status = self.status_code()
        self.plain = status >= 200 and self.keep_alive()

    def on_message_complete(self) -> None:
        self.complete = True

    def release(self) -> None:
        """Let go of the parser, which holds this framer: both are then freed by their reference
        counts as the connection ends, not later by a garbage collection."""
        self.parser = placeholder = _NO_PARSER
        self.feed = placeholder.feed_data
        self.status_code = placeholder.get_status_code
        self.keep_alive = placeholder.should_keep_alive


# A placeholder never fed, for a connection whose framer is used up until its next response.
_NO_FRAMER: Final = _Framer()


class UpstreamConnection(asyncio.Protocol):
    """One keep-alive connection to a backend; serves one exchange at a time."""

    __slots__ = (
        "address",
        "chunked",
        "closed",
        "exchange",
        "framer",
        "full",
        "has_length",
        "head",
        "idle_since",
        "interim",
        "key",
        "parser",
        "parts",
        "pool",
        "reading_paused",
        "reason",
        "transport",
        "tunnel",
        "upgrade",
        "write",
    )

    def __init__(self, pool: Pool, address: tuple[str, int]) -> None:
        self.pool = pool
        self.address = address
        self.key = backend_key(*address)
        self.write: Callable[[bytes], None]  # ``transport.write``, bound at connection_made
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set at connection_made
        self.parser = _NO_PARSER  # the slow path's, made when a response needs it
        self.framer = _Framer()
        self.full = False  # this response goes through the header-by-header parser
        self.head = b""  # the start of a response head that came in pieces
        # The request this connection serves now; while set, the backend has one in flight (the
        # pool counts it: see ``Pool.claim``).
        self.exchange: Exchange | None = None
        self.tunnel: asyncio.Transport | None = None
        self.closed = False
        self.reading_paused = False
        self.idle_since = 0.0
        self._reset_response()

    def _reset_response(self) -> None:
        self.reason = b""
        self.parts: list[bytes] = []
        self.has_length = False
        self.chunked = False
        self.upgrade = b""
        self.interim = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.write = self.transport.write

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel.write(data)
            return
        ex = self.exchange
        if ex is None:  # a backend may not talk between requests: this connection is unusable
            self.closed = True
            self.transport.close()
            return
        client = ex.client
        client.last = now = client.worker.now()
        if not self.full and not ex.plain:  # HEAD, upgrades, HTTP/1.0 clients: the slow path
            self.full = True
            self.parser = HttpResponseParser(self)
            self._reset_response()
        if self.full:
            self._feed_full(data)
            client.flush()
            return
        framer = self.framer
        if framer is _NO_FRAMER:
            self.framer = framer = _Framer()
        deciding = not framer.headers_done
        if deciding and self.head:  # the head came in pieces: keep them together
            data = self.head + data
        try:
            framer.feed(data)
        except HttpParserError:
            ex.bad_response()
            client.flush()
            return
        if deciding:
            if not framer.headers_done:
                self.head = data
                return
            self.head = b""
            if not (framer.plain and ex.plain and data.startswith(b"HTTP/1.1 ")):
                # Anything unusual is re-parsed header by header and re-framed for the client.
                # The framer has read this head: the next response on the fast path needs a new
                # one, made only then (most such connections close after this response).
                self.full = True
                framer.release()
                self.framer = _NO_FRAMER
                self.parser = HttpResponseParser(self)
                self._reset_response()
                self._feed_full(data)
                client.flush()
                return
            ex.response_passed(framer.status, data)
        else:
            ex.nbytes += len(data)
            client.send(data)
        # The client gets the bytes before the bookkeeping below: it can send its next request
        # while this process logs and pools.
        client.flush()
        if framer.complete:
            framer.headers_done = framer.complete = False
            ex.response_complete(True, now)
            client.flush()  # anything a next, pipelined exchange wrote at once

    def _feed_full(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except HttpParserUpgrade as exc:
            if self.exchange is not None:
                self.exchange.upgraded(self, data[exc.args[0] :])
        except HttpParserError:
            if self.exchange is not None:
                self.exchange.bad_response()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        # The parsers hold this connection and it holds them: cut the cycles, so a closed
        # connection is freed now (a collection per few hundred of them costs more).
        if self.framer is not _NO_FRAMER:
            self.framer.release()
            self.framer = _NO_FRAMER
        self.parser = _NO_PARSER
        tunnel, self.tunnel = self.tunnel, None
        if tunnel is not None:
            tunnel.close()
        ex = self.exchange
        if ex is None:
            self.pool.forget(self)
            return
        self.detach()
        ex.upstream_lost(self)
        ex.client.flush()

    def pause_writing(self) -> None:
        if self.tunnel is not None:
            self.tunnel.pause_reading()
        elif self.exchange is not None:
            self.exchange.client.pause_reading(1)

    def resume_writing(self) -> None:
        if self.tunnel is not None:
            if not self.tunnel.is_closing():
                self.tunnel.resume_reading()
        elif self.exchange is not None:
            self.exchange.client.resume_reading(1)

    # httptools callbacks

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        lname = name.lower()
        if lname in RESPONSE_HOP_BY_HOP:
            if lname == b"transfer-encoding":
                self.chunked = True
            elif lname == b"upgrade":
                self.upgrade = value
            return
        if lname == b"content-length":
            self.has_length = True
        self.parts.extend((name, SEP, value, b"\r\n"))

    def on_headers_complete(self) -> None:
        ex = self.exchange
        if ex is None:
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            # 100 Continue, 103 Early Hints: passed on, the real response follows. 101 Switching
            # Protocols: the parser stops with HttpParserUpgrade and the tunnel takes over.
            self.interim = True
        ex.response_head(self, status)
        if ex.is_head and not self.interim:
            # httptools cannot be told a HEAD response has no body: end it here; the next
            # response starts on the fast path with a fresh parser.
            self.full = False
            ex.response_complete(self.parser.should_keep_alive())

    def on_body(self, body: bytes) -> None:
        if self.exchange is not None:
            self.exchange.response_body(body)

    def on_message_complete(self) -> None:
        if self.interim:
            self._reset_response()
            return
        ex = self.exchange
        if ex is not None and self.full:
            self.full = False
            ex.response_complete(self.parser.should_keep_alive())
        self._reset_response()

    # used by the pool and exchanges

    def detach(self) -> None:
        """The exchange is over for this connection: the backend has one request less in flight."""
        if self.exchange is not None:
            self.exchange = None
            self.pool.unclaim(self.key)

    def release(self, now: float = 0.0) -> None:
        """Detach from the exchange, and wait in the pool (idle since ``now``) or close."""
        self.detach()
        if self.reading_paused:
            self.reading_paused = False
            self.transport.resume_reading()
        self.pool.give(self, now)

    def discard(self) -> None:
        """Detach and close: the connection's state is unknown."""
        self.detach()
        self.closed = True
        self.transport.close()


class Pool:
    """Idle upstream connections by backend key, and new connections when none is idle."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._idle: dict[str, list[UpstreamConnection]] = {}
        self.live: frozenset[str] = frozenset()  # the keys of the backends in the route table
        # Requests in flight per backend: the daemon waits for a retired backend's to end.
        self.busy: dict[str, int] = {}
        self.on_retired_idle: Callable[[], None] = lambda: None

    def claim(self, conn: UpstreamConnection, exchange: Exchange) -> None:
        """``conn`` now carries ``exchange``: one more request in flight on its backend."""
        conn.exchange = exchange
        busy = self.busy
        key = conn.key
        busy[key] = busy.get(key, 0) + 1

    def unclaim(self, key: str) -> None:
        """A request on backend ``key`` ended (called by ``UpstreamConnection.detach``)."""
        # A count of 0 stays in the dict: adding and deleting the key on every request costs more.
        busy = self.busy
        count = busy[key] - 1
        busy[key] = count
        if not count and key not in self.live:
            del busy[key]
            self.on_retired_idle()  # the last request on a retired backend ended

    def retired_busy(self) -> list[int]:
        """Ports of backends that left the table but still have requests in flight."""
        live = self.live
        return sorted(
            int(k.rpartition(":")[2]) for k, n in self.busy.items() if n and k not in live
        )

    def take(self, key: str) -> UpstreamConnection | None:
        """The most recently used idle connection to backend ``key``, if any."""
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return None

    def give(self, conn: UpstreamConnection, now: float = 0.0) -> None:
        """Keep ``conn`` for reuse (idle since ``now``, default: the loop's time), unless its
        backend left the table or the pool is full."""
        if conn.closed:
            return
        key = conn.key
        idle = self._idle.get(key)
        if idle is None:
            idle = self._idle[key] = []
        if key not in self.live or len(idle) >= MAX_IDLE_PER_BACKEND:
            conn.discard()
            return
        conn.idle_since = now or self._loop.time()
        idle.append(conn)

    def forget(self, conn: UpstreamConnection) -> None:
        """Drop a connection the backend closed while it was idle."""
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)

    async def connect(self, address: tuple[str, int]) -> UpstreamConnection:
        """A new connection; raises ``OSError`` when it cannot be made.

        No timer of its own: the worker's periodic check cancels a connect that takes too long
        (see ``Exchange.expire_connect``); ``asyncio.timeout`` costs more than the connect.
        """
        _, conn = await self._loop.create_connection(
            lambda: UpstreamConnection(self, address), *address
        )
        return conn

    def sweep(self, idle_timeout: float) -> None:
        """Close idle connections older than ``idle_timeout`` or to backends no longer routed."""
        oldest = self._loop.time() - idle_timeout
        for key in list(self._idle):
            idle = self._idle[key]
            keep = [c for c in idle if not c.closed]
            if key not in self.live:
                for conn in keep:
                    conn.discard()
                del self._idle[key]
                continue
            for conn in keep:
                if conn.idle_since < oldest:
                    conn.discard()
            self._idle[key] = [c for c in keep if not c.closed]
        for key in [k for k, n in self.busy.items() if not n and k not in self.live]:
            del self.busy[key]  # a count left at 0 for a backend that has since gone

    def close(self) -> None:
        """Close every idle connection (shutdown)."""
        for idle in self._idle.values():
            for conn in idle:
                conn.discard()
        self._idle.clear()
