"""Connections to web processes and the keep-alive pool of idle ones, per backend address.

An ``UpstreamConnection`` parses the backend's responses with httptools and hands each piece to the
``Exchange`` it serves; between requests it waits in the ``Pool``, newest first, so the warmest
connections are reused and the oldest are closed by the idle sweep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from twelve.router.messages import RESPONSE_HOP_BY_HOP, SEP

if TYPE_CHECKING:
    from twelve.router.exchange import Exchange

MAX_IDLE_PER_BACKEND = 256
# A placeholder never fed: most connections never need the slow path's parser.
_NO_PARSER = HttpResponseParser(object())


class _Framer:
    """Finds where each response ends without a Python call per header (the fast path).

    An HTTP/1.1 keep-alive response to a plain HTTP/1.1 request passes to the client byte for
    byte; anything else (HTTP/1.0, a body ended by closing, HEAD, 1xx, upgrades) is handed to the
    header-by-header parser of ``UpstreamConnection`` and re-framed.
    """

    __slots__ = ("complete", "headers_done", "parser", "plain", "status")

    def __init__(self) -> None:
        self.parser = HttpResponseParser(self)
        self.headers_done = False
        self.complete = False
        self.plain = False
        self.status = 0

    def on_headers_complete(self) -> None:
        parser = self.parser
        self.headers_done = True
        self.status = status = parser.get_status_code()
        self.plain = (
            status >= 200 and parser.should_keep_alive() and parser.get_http_version() == "1.1"
        )

    def on_message_complete(self) -> None:
        self.complete = True


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
        "idle_since",
        "interim",
        "parser",
        "parts",
        "pool",
        "raw",
        "reading_paused",
        "reason",
        "transport",
        "tunnel",
        "upgrade",
    )

    def __init__(self, pool: Pool, address: tuple[str, int]) -> None:
        self.pool = pool
        self.address = address
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set at connection_made
        self.parser = _NO_PARSER  # the slow path's, made when a response needs it
        self.framer = _Framer()
        self.full = False  # this response goes through the header-by-header parser
        self.raw: list[bytes] = []
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
        client.last = client.worker.now()
        if not self.full and not ex.plain:  # HEAD, upgrades, HTTP/1.0 clients: the slow path
            self.full = True
            self.parser = HttpResponseParser(self)
            self._reset_response()
        if self.full:
            self._feed_full(data)
            client.flush()
            return
        framer = self.framer
        deciding = not framer.headers_done
        if deciding:
            self.raw.append(data)
        try:
            framer.parser.feed_data(data)
        except HttpParserError:
            ex.bad_response()
            client.flush()
            return
        if deciding:
            if not framer.headers_done:
                return
            raw, self.raw = b"".join(self.raw), []
            if not (framer.plain and ex.plain):
                # Anything unusual is re-parsed header by header and re-framed for the client.
                self.full = True
                self.framer = _Framer()
                self.parser = HttpResponseParser(self)
                self._reset_response()
                self._feed_full(raw)
                client.flush()
                return
            ex.response_passed(framer.status, raw)
        else:
            ex.nbytes += len(data)
            client.send(data)
        if framer.complete:
            framer.headers_done = framer.complete = False
            ex.response_complete(True)
        client.flush()

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
            self.pool.unclaim(self.address)

    def release(self) -> None:
        """Detach from the exchange, and wait in the pool or close."""
        self.detach()
        if self.reading_paused:
            self.reading_paused = False
            self.transport.resume_reading()
        self.pool.give(self)

    def discard(self) -> None:
        """Detach and close: the connection's state is unknown."""
        self.detach()
        self.closed = True
        self.transport.close()


class Pool:
    """Idle upstream connections by backend address, and new connections when none is idle."""

    def __init__(self, loop: asyncio.AbstractEventLoop, connect_timeout: float) -> None:
        self._loop = loop
        self._connect_timeout = connect_timeout
        self._idle: dict[tuple[str, int], list[UpstreamConnection]] = {}
        self.live: frozenset[tuple[str, int]] = frozenset()
        # Requests in flight per backend: the daemon waits for a retired backend's to end.
        self.busy: dict[tuple[str, int], int] = {}
        self.on_retired_idle: Callable[[], None] = lambda: None

    def claim(self, conn: UpstreamConnection, exchange: Exchange) -> None:
        """``conn`` now carries ``exchange``: one more request in flight on its backend."""
        conn.exchange = exchange
        busy = self.busy
        address = conn.address
        busy[address] = busy.get(address, 0) + 1

    def unclaim(self, address: tuple[str, int]) -> None:
        """A request on ``address`` ended (called by ``UpstreamConnection.detach``)."""
        busy = self.busy
        count = busy[address] - 1
        if count:
            busy[address] = count
            return
        del busy[address]
        if address not in self.live:
            self.on_retired_idle()  # the last request on a retired backend ended

    def retired_busy(self) -> list[int]:
        """Ports of backends that left the table but still have requests in flight."""
        return sorted(port for (_host, port) in self.busy if (_host, port) not in self.live)

    def take(self, address: tuple[str, int]) -> UpstreamConnection | None:
        """The most recently used idle connection to ``address``, if any."""
        idle = self._idle.get(address)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return None

    def give(self, conn: UpstreamConnection) -> None:
        """Keep ``conn`` for reuse, unless its backend left the table or the pool is full."""
        if conn.closed:
            return
        idle = self._idle.setdefault(conn.address, [])
        if conn.address not in self.live or len(idle) >= MAX_IDLE_PER_BACKEND:
            conn.discard()
            return
        conn.idle_since = self._loop.time()
        idle.append(conn)

    def forget(self, conn: UpstreamConnection) -> None:
        """Drop a connection the backend closed while it was idle."""
        idle = self._idle.get(conn.address)
        if idle and conn in idle:
            idle.remove(conn)

    async def connect(self, address: tuple[str, int]) -> UpstreamConnection:
        """A new connection; raises ``TimeoutError`` or ``OSError`` when it cannot be made."""
        async with asyncio.timeout(self._connect_timeout):
            _, conn = await self._loop.create_connection(
                lambda: UpstreamConnection(self, address), *address
            )
        return conn

    def sweep(self, idle_timeout: float) -> None:
        """Close idle connections older than ``idle_timeout`` or to backends no longer routed."""
        oldest = self._loop.time() - idle_timeout
        for address in list(self._idle):
            idle = self._idle[address]
            keep = [c for c in idle if not c.closed]
            if address not in self.live:
                for conn in keep:
                    conn.discard()
                del self._idle[address]
                continue
            for conn in keep:
                if conn.idle_since < oldest:
                    conn.discard()
            self._idle[address] = [c for c in keep if not c.closed]

    def close(self) -> None:
        """Close every idle connection (shutdown)."""
        for idle in self._idle.values():
            for conn in idle:
                conn.discard()
        self._idle.clear()
