"""Connections to web processes and the keep-alive pool of idle ones, per backend.

An ``UpstreamConnection`` parses the backend's responses with httptools and hands each piece to the
``Exchange`` it serves; between requests it waits in the ``Pool``, newest first, so the warmest
connections are reused and the oldest are closed by the idle sweep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Final

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from twelve.router.hotpath import header_kind, header_table
from twelve.router.messages import (
    CONTENT_LENGTH,
    CRLF,
    KEEP,
    RESPONSE_HEADERS,
    SEP,
    TRANSFER_ENCODING,
    UPGRADE,
)
from twelve.router.table import Backend

if TYPE_CHECKING:
    from twelve.router.exchange import Exchange

MAX_IDLE_PER_BACKEND: Final = 256
_HEADERS: Final = header_table(RESPONSE_HEADERS)
_FAST_PATH_START: Final = b"HTTP/1.1 "
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

    def __init__(self, pool: Pool, key: str) -> None:
        self.pool = pool
        self.key = key
        self.write: Callable[[bytes], None]  # ``transport.write``, bound at connection_made
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set at connection_made
        self.parser = _NO_PARSER  # the slow path's, made when a response needs it
        # Made for the first response that can take the fast path: a backend that answers
        # HTTP/1.0, and closes after each response, never needs one.
        self.framer = _NO_FRAMER
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
        if self.full:
            self._feed_full(data)
            client.flush()
            return
        framer = self.framer
        # HEAD, upgrades and HTTP/1.0 clients; with no framer yet, HTTP/1.0 backends, or a head
        # whose first bytes came alone: the slow path, for this response.
        if not ex.plain or (framer is _NO_FRAMER and not data.startswith(_FAST_PATH_START)):
            self._take_slow_path(data)
            client.flush()
            return
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
            if not (framer.plain and ex.plain and data.startswith(_FAST_PATH_START)):
                # Anything unusual is re-parsed header by header and re-framed for the client.
                # The framer has read this head: the next response on the fast path needs a new
                # one, made only then (most such connections close after this response).
                framer.release()
                self.framer = _NO_FRAMER
                self._take_slow_path(data)
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

    def _take_slow_path(self, data: bytes) -> None:
        """Parse this response header by header, from ``data`` (its start) on."""
        self.full = True
        self.parser = HttpResponseParser(self)
        self._reset_response()
        self._feed_full(data)

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
        kind = header_kind(name, _HEADERS, KEEP)
        if kind == KEEP:
            self.parts.extend((name, SEP, value, CRLF))
        elif kind == CONTENT_LENGTH:
            self.has_length = True
            self.parts.extend((name, SEP, value, CRLF))
        elif kind == TRANSFER_ENCODING:
            self.chunked = True
        elif kind == UPGRADE:
            self.upgrade = value
        # else hop-by-hop: it belongs to this connection and never crosses the proxy

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


class Connecting:
    """A connection under way: ``loop.create_connection``'s coroutine, driven without a Task.

    That coroutine is asyncio's only way to connect a transport, and starting a Task for it took
    8,500 instructions per connection, about as many as uvloop's whole connect. The coroutine
    waits on futures only, so it is sent ``None`` each time the one it waits on is done, as a
    Task would do.
    """

    __slots__ = ("coro", "on_connected", "on_failed", "waiting")

    def __init__(
        self,
        coro: Coroutine[Any, Any, tuple[asyncio.BaseTransport, UpstreamConnection]],
        on_connected: Callable[[UpstreamConnection], None],
        on_failed: Callable[[], None],
    ) -> None:
        self.coro: Coroutine[Any, Any, tuple[asyncio.BaseTransport, UpstreamConnection]] | None
        self.coro = coro
        self.on_connected = on_connected
        self.on_failed = on_failed
        self.waiting: asyncio.Future[Any] | None = None
        self.step(None)

    def step(self, _done: object) -> None:
        """Run the coroutine to its next wait, or to its end (then call back)."""
        coro = self.coro
        if coro is None:
            return
        try:
            waiting = coro.send(None)
        except StopIteration as end:
            self.coro = self.waiting = None
            self.on_connected(end.value[1])
            return
        except OSError:
            self.coro = self.waiting = None
            self.on_failed()
            return
        self.waiting = waiting
        if waiting is None:  # a bare yield: the coroutine asks to run again soon
            asyncio.get_running_loop().call_soon(self.step, None)
        else:
            waiting.add_done_callback(self.step)

    def cancel(self) -> None:
        """Give up: the socket is closed, and neither callback is called."""
        coro, self.coro = self.coro, None
        waiting, self.waiting = self.waiting, None
        if waiting is not None:
            waiting.remove_done_callback(self.step)
        if coro is not None:
            coro.close()  # create_connection closes its transport as the coroutine ends


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

    def connect(
        self,
        backend: Backend,
        on_connected: Callable[[UpstreamConnection], None],
        on_failed: Callable[[], None],
    ) -> Connecting:
        """Start a new connection to ``backend``; one of the two callbacks follows, perhaps at once.

        No timer of its own: the worker's periodic check gives up a connect that takes too long
        (see ``Exchange.expire_connect``); ``asyncio.timeout`` costs more than the connect.
        """
        key = backend.key
        made = self._loop.create_connection(lambda: UpstreamConnection(self, key), *backend.address)
        return Connecting(made, on_connected, on_failed)

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
