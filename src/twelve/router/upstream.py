"""Connections to web processes: each parses its backend's responses for the exchange it serves.

An ``UpstreamConnection`` parses the backend's responses with httptools and hands each piece to the
``Exchange`` it serves; between requests it waits in the ``Pool`` (``twelve.router.pool``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from twelve.router.hotpath import header_kind, header_table, length_end, plain_response
from twelve.router.messages import (
    CONTENT_LENGTH,
    CRLF,
    KEEP,
    RESPONSE_HEADERS,
    SEP,
    TRANSFER_ENCODING,
    UPGRADE,
)

if TYPE_CHECKING:
    from twelve.router.exchange import Exchange
    from twelve.router.pool import BackendConnections, Pool

_HEADERS: Final = header_table(RESPONSE_HEADERS)
_HTTP11: Final = b"HTTP/1.1 "
_HTTP10: Final = b"HTTP/1.0 "
# A plain response's first read smaller than this, and short of the response's end, waits for
# the next one before it goes to the client (see ``_pass_plain``): nginx's postpone_output.
_HOLD_UNDER: Final = 1460
# A placeholder never fed: most connections never need the slow path's parser.
_NO_PARSER: Final = HttpResponseParser(object())
# Its methods, bound once, for a used-up framer to hold instead of its own parser's.
_NO_FEED: Final = _NO_PARSER.feed_data
_NO_STATUS_CODE: Final = _NO_PARSER.get_status_code
_NO_KEEP_ALIVE: Final = _NO_PARSER.should_keep_alive


class _Framer:
    """Finds where each response ends without a Python call per header (the fast path).

    An HTTP/1.1 keep-alive response to a plain HTTP/1.1 request passes to the client byte for
    byte. So does an HTTP/1.0 one with a Content-Length and no hop-by-hop header, but for its
    version, which becomes the router's own (the backend then closes the connection). Anything
    else (a body ended by closing, HEAD, 1xx, upgrades) is handed to the header-by-header parser
    of ``UpstreamConnection`` and re-framed.
    """

    __slots__ = (
        "complete",
        "feed",
        "headers_done",
        "keep_alive",
        "parser",
        "reusable",
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
        self.reusable = False  # the backend keeps the connection open after this response
        self.status = 0

    def on_headers_complete(self) -> None:
        # The version is read off the status line by ``UpstreamConnection`` (one call less).
        self.headers_done = True
        self.status = self.status_code()
        self.reusable = self.keep_alive()

    def on_message_complete(self) -> None:
        self.complete = True

    def release(self) -> None:
        """Let go of the parser, which holds this framer: both are then freed by their reference
        counts as the connection ends, not later by a garbage collection."""
        self.parser = _NO_PARSER
        self.feed = _NO_FEED
        self.status_code = _NO_STATUS_CODE
        self.keep_alive = _NO_KEEP_ALIVE


def _passed_on(framer: _Framer, data: bytes) -> bytes:
    """What the client gets of a response that starts ``data`` on the fast path, or ``b""`` when
    it must be re-framed: a final HTTP/1.1 keep-alive response as it is, a plain HTTP/1.0 one
    (``plain_response``, here for a head that came in pieces) with the router's version (its
    backend closes after it)."""
    if framer.status < 200:
        return b""
    if data.startswith(_HTTP11):
        return data if framer.reusable else b""
    if data.startswith(_HTTP10) and plain_response(data) is not None:
        return _HTTP11 + data[len(_HTTP10) :]
    return b""


# A placeholder never fed, for a connection whose framer is used up until its next response.
_NO_FRAMER: Final = _Framer()


class UpstreamConnection(asyncio.Protocol):
    """One keep-alive connection to a backend; serves one exchange at a time."""

    __slots__ = (
        "chunked",
        "closed",
        "exchange",
        "framed",
        "framer",
        "full",
        "has_length",
        "head",
        "idle_since",
        "interim",
        "kept",
        "left",
        "parser",
        "parts",
        "pool",
        "reading_paused",
        "reason",
        "slot",
        "transport",
        "tunnel",
        "upgrade",
    )

    def __init__(self, pool: Pool, slot: BackendConnections) -> None:
        self.pool = pool
        self.slot = slot  # the backend's idle list and count of requests in flight
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set at connection_made
        self.parser = _NO_PARSER  # the slow path's, made when a response needs it
        # Made for the first response that can take the fast path: a backend that answers
        # HTTP/1.0, and closes after each response, never needs one.
        self.framer = _NO_FRAMER
        # The first read of the response the framer passes on (its head): where it ends, should
        # the read that ends it carry bytes past it (see ``_cut_at_length``).
        self.framed = b""
        self.full = False  # this response goes through the header-by-header parser
        self.head = b""  # the start of a response head that came in pieces
        # Bytes still to come of a plain response's body, passed on without a parser, and whether
        # the connection is kept alive after it (see ``_pass_plain``).
        self.left = 0
        self.kept = False
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
        # Not ``transport.write`` bound here: a new connection sends its request head as it
        # connects, and one to an app that closes after each response writes nothing more.
        self.transport = transport  # type: ignore[assignment]

    def write(self, data: bytes) -> None:
        """Send bytes to the backend."""
        self.transport.write(data)

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
        if self.left:
            self._pass_body(ex, data, now)
            return
        framer = self.framer
        # A plain response, most of them, needs no parser at all: its head says where it ends.
        if (
            ex.plain
            and not framer.headers_done
            and not self.head
            and (found := plain_response(data)) is not None
        ):
            self._pass_plain(ex, data, found[0], found[1], now)
            return
        # HEAD, upgrades and HTTP/1.0 clients; with no framer yet, a head whose first bytes came
        # alone: the slow path, for this response.
        if not ex.plain or (
            framer is _NO_FRAMER and not (data.startswith(_HTTP11) or data.startswith(_HTTP10))
        ):
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
            if deciding and framer.complete:
                # A whole response, then bytes that start no next one: the slow path passes
                # the response alone, and its connection is not used again (see ``_feed_full``).
                framer.release()
                self.framer = _NO_FRAMER
                self.head = b""
                self._take_slow_path(data)
            elif not (framer.complete and self._cut_at_length(ex, data, now)):
                ex.bad_response()
            client.flush()
            return
        if deciding:
            if not framer.headers_done:
                self.head = data
                return
            self.head = b""
            passed = _passed_on(framer, data)
            if not passed:
                # Anything unusual is re-parsed header by header and re-framed for the client.
                # The framer has read this head: the next response on the fast path needs a new
                # one, made only then (most such connections close after this response).
                framer.release()
                self.framer = _NO_FRAMER
                self._take_slow_path(data)
                client.flush()
                return
            self.framed = data
            ex.response_passed(framer.status, passed)
        else:
            ex.nbytes += len(data)
            client.send(data)
        # The client gets the bytes before the bookkeeping below: it can send its next request
        # while this process logs and pools.
        client.flush()
        if framer.complete:
            framer.headers_done = framer.complete = False
            self.framed = b""  # not kept while the connection waits in the pool
            ex.response_complete(framer.reusable, now)
            client.flush()  # anything a next, pipelined exchange wrote at once

    def _cut_at_length(self, ex: Exchange, data: bytes, now: float) -> bool:
        """A passed response ended in ``data``, and bytes that start no next one followed: pass
        the response's last bytes alone, and use the connection no more (as ``_pass_plain``
        does). False when its head gives no Content-Length to find that end by."""
        end = length_end(self.framed)
        if end is None or not ex.nbytes < end <= ex.nbytes + len(data):
            return False
        ex.response_body(data[: end - ex.nbytes])
        self.framer.release()
        self.framer = _NO_FRAMER
        self.framed = b""
        ex.response_complete(False, now)
        return True

    def _pass_plain(self, ex: Exchange, data: bytes, status: int, ends: int, now: float) -> None:
        """A plain response starts ``data`` and ends at ``ends`` (see ``plain_response``)."""
        http10 = data[7] == 48  # "0"
        passed = data if len(data) <= ends else data[:ends]
        if http10:
            passed = _HTTP11 + passed[len(_HTTP10) :]
        # Bytes past the Content-Length are dropped, as nginx drops them, and the connection
        # that carried them is not used again.
        self.kept = not http10 and len(data) <= ends
        ex.response_passed(status, passed)
        if len(data) < ends:
            self.left = ends - len(data)
            # An app that writes its head, then its body, is often read between the two: a
            # small start is held for the body's next bytes, so the client gets one write and
            # one wake-up, not two (as nginx holds output under ``postpone_output``).
            if len(passed) >= _HOLD_UNDER:
                ex.client.flush()
            return
        ex.client.flush()
        ex.response_complete(self.kept, now)
        ex.client.flush()

    def _pass_body(self, ex: Exchange, data: bytes, now: float) -> None:
        """More of a plain response's body (see ``_pass_plain``)."""
        left = self.left
        if len(data) > left:
            data = data[:left]
            self.kept = False
        self.left = left - len(data)
        ex.response_body(data)
        ex.client.flush()
        if not self.left:
            ex.response_complete(self.kept, now)
            ex.client.flush()

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
            elif not self.closed:
                # Bytes past the end of a response that has passed: dropped, as nginx drops
                # them, with the connection that carried them (it may sit in the pool already).
                self.discard()

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
            self.pool.unclaim(self.slot)

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
