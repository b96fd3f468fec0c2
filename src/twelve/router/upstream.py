"""Connections to web processes: each parses its backend's responses for the exchange it serves.

An ``UpstreamConnection`` reads the backend's responses and hands each piece to the ``Exchange`` it
serves; between requests it waits in the ``Pool`` (``twelve.router.pool``). Where a response ends
is always decided by a parser: a plain response (``hotpath.plain_response``: one Content-Length,
no hop-by-hop header, its whole head in the first read) passes on as it is, cut at its end;
every other response is parsed by llhttp (httptools) and re-framed from what the parser saw.
Bytes a backend sends past the end of a response never reach a client, and the connection that
carried them is not used again.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final, cast

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from twelve.router.hotpath import header_kind, header_table, plain_response
from twelve.router.messages import (
    CONNECTION,
    CONTENT_LENGTH,
    CRLF,
    KEEP,
    RESPONSE_HEADERS,
    SEP,
    TRANSFER_ENCODING,
    UPGRADE,
    drop_nominated,
    head_end,
)
from twelve.router.transport import Paused, Stream

if TYPE_CHECKING:
    from twelve.router.exchange import Exchange
    from twelve.router.pool import BackendConnections, Pool

_HEADERS: Final = header_table(RESPONSE_HEADERS)
_HTTP11: Final = b"HTTP/1.1 "
_HTTP10: Final = b"HTTP/1.0 "
# A plain response's first read smaller than this, and short of the response's end, waits for
# the next one before it goes to the client (see ``_pass_plain``): nginx's postpone_output.
_HOLD_UNDER: Final = 1460
# A placeholder never fed: most connections never need the parser.
_NO_PARSER: Final = HttpResponseParser(object())
_HEAD_END: Final = b"\r\n\r\n"


class _Stop(Exception):
    """Raised from a parser callback to stop parsing: the response is bad (``bad``), or it has
    ended and the parser must read no further (a HEAD response, or bytes past a response)."""

    def __init__(self, bad: bool) -> None:
        super().__init__()
        self.bad = bad


class UpstreamConnection(asyncio.Protocol):
    """One keep-alive connection to a backend; serves one exchange at a time."""

    __slots__ = (
        "chunked",
        "closed",
        "connection",
        "ended",
        "exchange",
        "final_head",
        "full",
        "has_length",
        "head_bytes",
        "heads",
        "idle_since",
        "interim",
        "kept",
        "left",
        "parser",
        "parts",
        "pieces",
        "pool",
        "raw_head",
        "reading_paused",
        "reason",
        "reusable",
        "slot",
        "trailing",
        "transport",
        "tunnel",
        "upgrade",
    )

    def __init__(self, pool: Pool, slot: BackendConnections) -> None:
        self.pool = pool
        self.slot = slot  # the backend's idle list and count of requests in flight
        self.transport: Stream  # set at connection_made
        self.parser = _NO_PARSER  # made for each response that is not plain
        self.full = False  # this response goes through the parser
        # Bytes still to come of a plain response's body, passed on without a parser, and whether
        # the connection is kept alive after it (see ``_pass_plain``).
        self.left = 0
        self.kept = False
        # The request this connection serves now; while set, the backend has one in flight (the
        # pool counts it: see ``Pool.claim``).
        self.exchange: Exchange | None = None
        self.tunnel: Stream | None = None
        self.closed = False
        self.reading_paused = False
        self.idle_since = 0.0
        self._reset_response()
        self._reset_parse()

    def _reset_response(self) -> None:
        """Forget the head of the response (or interim response) just parsed."""
        self.reason = b""
        self.parts: list[bytes] = []  # kept headers: name, ": ", value, CRLF in turn
        self.has_length = False
        self.chunked = False
        self.connection = b""
        self.upgrade = b""
        self.interim = False

    def _reset_parse(self) -> None:
        """Forget what the parser told of the response before this one."""
        self.head_bytes = 0  # the final head's size, as the parser's callbacks give it
        self.raw_head = 0  # bytes read while the final head was not complete
        self.final_head = False
        self.heads = 0  # heads the parser has completed, interim ones included
        self.pieces: list[bytes] = []  # what was read of a HEAD response, to find its end
        self.ended = False  # the final response is complete
        self.reusable = False  # and the backend keeps the connection open after it
        self.trailing = False  # bytes came after its end

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not ``transport.write`` bound here: a new connection sends its request head as it
        # connects, and one to an app that closes after each response writes nothing more.
        self.transport = cast(Stream, transport)

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
        ex.client.last = now = self.pool.clock()
        if self.left:
            self._pass_body(ex, data, now)
        elif self.full or not self._passed_plain(ex, data, now):
            self._parse(ex, data, now)

    def _passed_plain(self, ex: Exchange, data: bytes, now: float) -> bool:
        """Whether ``data`` starts a plain response, now passed on (see ``_pass_plain``)."""
        if not ex.request.plain:
            return False
        found = plain_response(data)
        if found is None:
            return False
        # A plain response flushes as it sees fit (``_pass_plain`` may hold a start).
        self._pass_plain(ex, data, found[0], found[1], now)
        return True

    def _parse(self, ex: Exchange, data: bytes, now: float) -> None:
        """HEAD, upgrades, HTTP/1.0 clients, and any response that is not plain or whose head
        came in pieces: the parser reads it, from its first byte."""
        if not self.full:
            self.full = True
            self.parser = HttpResponseParser(self)
        self._feed(ex, data, now)
        ex.client.flush()

    def _pass_plain(self, ex: Exchange, data: bytes, status: int, ends: int, now: float) -> None:
        """A plain response starts ``data`` and ends at ``ends`` (see ``plain_response``)."""
        max_head = self.pool.max_head_bytes
        if len(data) > max_head and data.find(_HEAD_END) + 4 > max_head:
            ex.bad_response()
            return
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
        ex.client.flush()  # anything a next, pipelined exchange wrote at once

    def _pass_body(self, ex: Exchange, data: bytes, now: float) -> None:
        """More of a plain response's body (see ``_pass_plain``)."""
        left = self.left
        if len(data) > left:
            data = data[:left]
            self.kept = False
        self.left = left - len(data)
        ex.response.body(data)
        ex.client.flush()
        if not self.left:
            ex.response_complete(self.kept, now)
            ex.client.flush()

    def _feed(self, ex: Exchange, data: bytes, now: float) -> None:
        """Parse ``data``, the next bytes of a response that is not plain."""
        if not self.final_head:
            self.raw_head += len(data)
            if ex.request.is_head:
                self.pieces.append(data)
        try:
            self.parser.feed_data(data)
        except HttpParserUpgrade as exc:
            if ex.upstream is self:  # the exchange did not end while the head was read
                ex.upgraded(self, data[exc.args[0] :])
            return
        except HttpParserError as exc:
            if self._refused(exc):
                ex.bad_response()
                return
        if ex.upstream is not self:
            return  # the exchange ended while the parser read (the client left, say)
        if self.ended:
            self._end_parse(ex, now)
        elif not self.final_head and self.raw_head > self.pool.max_head_bytes:
            ex.bad_response()

    def _refused(self, exc: HttpParserError) -> bool:
        """Whether the parser's stop means a bad response (else it read past the response's end,
        where anything is only bytes the connection is not used again for)."""
        stop = exc.__context__
        if isinstance(stop, _Stop):
            return stop.bad
        if not self.ended:
            return True
        self.trailing = True  # bytes past the end that start no response
        return False

    def _end_parse(self, ex: Exchange, now: float) -> None:
        """The parsed response is complete: the next one starts without a parser."""
        self.full = False
        self.parser = _NO_PARSER  # it holds this connection: let both be freed by count
        reusable = self.reusable and not self.trailing
        self._reset_parse()
        ex.response_complete(reusable, now)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        # The parser holds this connection and it holds the parser: cut the cycle, so a closed
        # connection is freed now (a collection per few hundred of them costs more).
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
            self.exchange.client.pause_reading(Paused.UPSTREAM_FULL)

    def resume_writing(self) -> None:
        if self.tunnel is not None:
            if not self.tunnel.is_closing():
                self.tunnel.resume_reading()
        elif self.exchange is not None:
            self.exchange.client.resume_reading(Paused.UPSTREAM_FULL)

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self.ended:  # a backend answers one request with one response: this one is not used
            self.trailing = True
            raise _Stop(bad=False)

    def on_status(self, reason: bytes) -> None:
        self.reason += reason
        self._count(len(reason) + 15)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        kind = header_kind(name, _HEADERS, KEEP)
        if kind == KEEP:
            self.parts.extend((name, SEP, value, CRLF))
        elif kind == CONTENT_LENGTH:
            self.has_length = True
            self.parts.extend((name, SEP, value, CRLF))
        elif kind == TRANSFER_ENCODING:
            # Only chunked is decoded: a body in any other transfer coding would reach the
            # client re-framed, and still encoded, with nothing saying how.
            if self.chunked or value.strip(b" \t").lower() != b"chunked":
                raise _Stop(bad=True)
            self.chunked = True
        elif kind == CONNECTION:
            self.connection = value if not self.connection else self.connection + b"," + value
        elif kind == UPGRADE:
            self.upgrade = value
        # else hop-by-hop: it belongs to this connection and never crosses the proxy

    def _count(self, size: int) -> None:
        self.head_bytes += size
        if self.exchange is not None and self.head_bytes > self.pool.max_head_bytes:
            raise _Stop(bad=True)

    def on_headers_complete(self) -> None:
        ex = self.exchange
        if ex is None:
            return
        status = self.parser.get_status_code()
        self.heads += 1
        if status < 100 or status > 599 or (status == 101 and not ex.request.upgrade):
            raise _Stop(bad=True)  # no such status; or a switch nobody asked for
        if status < 200:
            # 100 Continue, 103 Early Hints: passed on, the real response follows. 101 Switching
            # Protocols: the parser stops with HttpParserUpgrade and the tunnel takes over.
            self.interim = True
            self.head_bytes = 0
        else:
            self.final_head = True
        if self.connection:
            self.parts = drop_nominated(self.parts, self.connection)
        ex.response_head(self, status)
        if ex.request.is_head and not self.interim:
            self._end_head_response()

    def _end_head_response(self) -> None:
        """A HEAD response has no body, whatever its head says, and httptools cannot be told: it
        ends here, and anything read past its head is not a response to any request."""
        self.ended = True
        self.reusable = self.parser.should_keep_alive()
        raw = b"".join(self.pieces)
        self.trailing = head_end(raw, self.heads) < len(raw)
        raise _Stop(bad=False)

    def on_body(self, body: bytes) -> None:
        if self.exchange is not None:
            self.exchange.response.body(body)

    def on_message_complete(self) -> None:
        if self.interim:
            self._reset_response()
            return
        self.ended = True
        self.reusable = self.parser.should_keep_alive()
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
            self.resume_reading()
        self.pool.give(self, now)

    def pause_reading(self) -> None:
        """Stop reading the backend while the client takes no more (``release`` resumes)."""
        self.reading_paused = True
        self.transport.pause_reading()

    def resume_reading(self) -> None:
        self.reading_paused = False
        self.transport.resume_reading()

    def discard(self) -> None:
        """Detach and close: the connection's state is unknown."""
        self.detach()
        self.closed = True
        self.transport.close()
