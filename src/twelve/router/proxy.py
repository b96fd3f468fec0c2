"""The client side of the proxy: one ``ClientConnection`` per accepted connection.

Requests are parsed strictly with httptools (llhttp): a malformed or ambiguous request is refused
(see ``docs/router.md``, "What the router refuses") and never forwarded. The head sent upstream is
built from what the parser read: the request line, the kept headers, and the framing, Host and
forwarded headers the router writes itself, so an app never reads a request other than the one
the router did. Each complete request head becomes an ``Exchange``; pipelined requests wait in
line behind the first, and their responses go out in order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from time import time as wall_clock
from typing import TYPE_CHECKING, Final, cast

from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser

from twelve.router import codes, endings
from twelve.router.codes import RouterError
from twelve.router.edge import answer as edge_answer
from twelve.router.exchange import Exchange
from twelve.router.head import LastRoute, Peer, RequestHead, is_http10
from twelve.router.hotpath import line_version
from twelve.router.messages import sane_request_id
from twelve.router.request import Refused
from twelve.router.transport import Paused, Stream

if TYPE_CHECKING:
    from twelve.router.worker import Worker

_MAX_QUEUED: Final = 16  # pipelined requests held behind the first before reading pauses
_NO_PEER: Final = Peer(b"", b"", b"http")
# Never fed: what a closed connection holds instead of its parser.
_NO_PARSER: Final = HttpRequestParser(object())


class ClientConnection(asyncio.Protocol):
    """One client connection: parses requests, queues exchanges, writes responses in order."""

    def __init__(self, worker: Worker, proto: bytes = b"http") -> None:
        self.worker = worker
        self.proto = proto  # X-Forwarded-Proto: https for connections on the TLS socket
        self.transport: asyncio.Transport  # set at connection_made
        self.parser = parser = HttpRequestParser(self)
        # Versions are the router's to judge (``on_headers_complete``): HTTP/1.2 is read as 1.1.
        parser.set_dangerous_leniencies(lenient_version=True)
        # Bound once: a method looked up by name on every request costs more than the call.
        self.feed: Callable[[bytes], None] = parser.feed_data
        self.get_method: Callable[[], bytes] = parser.get_method
        self.should_upgrade: Callable[[], bool] = parser.should_upgrade
        self.should_keep_alive: Callable[[], bool] = parser.should_keep_alive
        self.write: Callable[[bytes], None]  # ``transport.write``, bound at connection_made
        self.active: Exchange | None = None
        self.queue: deque[Exchange] = deque()
        self.parsing: Exchange | None = None
        self.tunnel: Stream | None = None
        self.wbuf: list[bytes] = []
        self.paused = 0
        self.closed = False
        self.lingering = False
        self.eof = False
        # The last request read asked to close after its response: what the client sends after
        # it is never a request (the parser would call it an error) and is dropped, as nginx does.
        self.last_request = False
        self.in_head = False
        self.partial = 0  # bytes read of a head (or trailer) the parser has not finished
        self.head_began = 0.0  # when the request head being read began (0: none is)
        self.in_trailer = False  # after a chunk's size line, before its data: maybe a trailer
        self.body_seen = 0  # body bytes the parser handed over during the current read
        # The upgrade request whose answer decides what the bytes after it are.
        self.upgrading: Exchange | None = None
        # A request that could not be read, refused once the responses before it are out.
        self.refusal: RouterError | None = None
        self.counted = False  # counted in the worker's connections per client address
        self.last = worker.now()
        self.peer = _NO_PEER  # who the client is, known at connection_made
        # The last Host seen and what it resolved to, for keep-alive requests to the same app.
        self.last_route = LastRoute()
        self.upstream_paused: Stream | None = None
        # The version on the request line, when read off the data (see ``data_received``).
        self.line_version = b""
        self.message = RequestHead()  # the request being read

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.write = self.transport.write
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        address = str(peer[0]).encode() if isinstance(peer, tuple) else b"unknown"
        port = str(sock[1]).encode() if isinstance(sock, tuple) else b""
        # What every request on this connection shares, computed once per connection.
        self.peer = Peer(address, port, self.proto)
        worker = self.worker
        if not worker.admit(address):
            self.closed = True  # over the cap of connections from one address (a flood)
            self.transport.abort()
            return
        self.counted = True
        worker.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.last = self.worker.now()
        if self.tunnel is not None:
            self.tunnel.write(data)
            return
        if self.lingering or self.refusal is not None:
            return
        # Read into a local: a narrowed attribute would be compiled as always None below, and
        # the parser's callbacks set it during ``feed``.
        upgrading = self.upgrading
        if upgrading is not None:
            upgrading.hold(data)  # after an upgrade request: the app's answer decides
            return
        if self.last_request:
            return
        if not self.in_head and self.parsing is None:
            self.line_version = line_version(data)  # a request starts here
            if not self.head_began:
                self.head_began = self.last
        self.body_seen = 0
        try:
            self.feed(data)
        except HttpParserUpgrade as exc:
            rest = data[exc.args[0] :]
            if rest and self.upgrading is not None:
                self.upgrading.hold(rest)
        except Refused as exc:
            self.refuse(exc.error)
        except HttpParserError as exc:
            if not self.last_request:  # else: bytes after a request that closes, dropped
                cause = exc.__context__
                self.refuse(cause.error if isinstance(cause, Refused) else codes.BAD_REQUEST)
        else:
            if self.in_head or self.in_trailer:
                # A head or trailer the parser has not finished is held by it whole, and copied
                # again with each read: bound it before it costs more than its limit.
                self.partial += len(data) - self.body_seen
                if self.partial > 2 * self.worker.max_header_bytes + 65536:
                    self.refuse(codes.HEADERS_TOO_LARGE)
        if self.wbuf:
            self.flush()

    def eof_received(self) -> bool | None:
        # A client may half-close after its last request: answer what it sent, then close.
        self.eof = True
        ex = self.parsing
        if ex is not None and self.tunnel is None and not self.lingering:
            # A request whose body can never be complete: given up (H27), not waited on.
            self.parsing = None
            if ex in self.queue:
                self.queue.remove(ex)
            ex.client_gone()
        return self.active is not None and self.tunnel is None and not self.lingering

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.upgrading = None
        if self.counted:
            self.counted = False
            self.worker.connections.discard(self)
            self.worker.release(self.peer.address)
        tunnel, self.tunnel = self.tunnel, None
        if tunnel is not None:
            tunnel.close()
        if self.active is not None:
            self.active.client_gone()
        self.queue.clear()
        # The parser holds this connection and it holds the parser: cut the cycle, so a closed
        # connection is freed now rather than by a garbage collection.
        self.parser = placeholder = _NO_PARSER
        self.feed = placeholder.feed_data
        self.get_method = placeholder.get_method
        self.should_upgrade = placeholder.should_upgrade
        self.should_keep_alive = placeholder.should_keep_alive

    def pause_writing(self) -> None:
        # The client takes no more for now: stop reading what would be sent to it.
        ex = self.active
        upstream = ex.upstream if ex is not None else None
        if self.tunnel is not None:
            self.upstream_paused = self.tunnel
            self.tunnel.pause_reading()
        elif upstream is not None:
            self.upstream_paused = upstream.transport
            upstream.pause_reading()

    def resume_writing(self) -> None:
        target, self.upstream_paused = self.upstream_paused, None
        if target is not None and not target.is_closing():
            ex = self.active
            upstream = ex.upstream if ex is not None else None
            if upstream is not None and upstream.transport is target:
                upstream.resume_reading()
            else:
                target.resume_reading()

    # httptools callbacks

    def on_url(self, url: bytes) -> None:
        # The first callback of every request (no on_message_begin: one call less per request).
        if not self.in_head:
            self.in_head = True
            self.partial = 0
            if not self.head_began:
                self.head_began = self.last
        self.message.add_url(url, self.worker.max_header_bytes)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.message.add_header(name, value, self.worker.max_header_bytes, self.in_head)

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.head_began = 0.0
        http10 = is_http10(self.line_version, self.parser)
        method = self.get_method()
        if method == b"CONNECT":
            raise Refused(codes.BAD_REQUEST)
        message = self.message
        target = host, url = message.target(http10)
        route = self.last_route.lookup(self.worker.table, host)
        upgrade = message.options and self.should_upgrade()
        sent_id = message.request_id
        request = message.request(
            route=route,
            method=method,
            target=target,
            host_log=self.last_route.host_log,
            http10=http10,
            upgrade=upgrade,
            peer=self.peer,
            request_id=(sent_id and sane_request_id(sent_id)) or self.worker.ids.next(),
            max_body=self.worker.max_body_bytes,
            start_ms=int(wall_clock() * 1000),
        )
        error = None if route is not None else codes.UNKNOWN_HOST
        if route is not None and route.edge is not None:
            error = edge_answer(route.edge, url, self.proto, host)
        keep_alive = (self.should_keep_alive() and not upgrade) if message.options else not http10
        message.reset()
        self._line_up(Exchange(self, request, error, keep_alive))

    def _line_up(self, ex: Exchange) -> None:
        """Start ``ex`` now, or once the requests before it are answered."""
        self.parsing = ex
        if self.active is None:
            self.active = ex
            ex.start()
        else:
            self.queue.append(ex)
            if len(self.queue) >= _MAX_QUEUED:
                self.pause_reading(Paused.HOLDING)

    def on_chunk_header(self) -> None:
        # The last chunk's size line is followed by the trailer, which no on_body ends.
        self.in_trailer = True

    def on_chunk_complete(self) -> None:
        self.in_trailer = False

    def on_body(self, body: bytes) -> None:
        self.in_trailer = False
        self.partial = 0
        self.body_seen += len(body)
        ex = self.parsing
        if ex is None:
            return
        ex.body_bytes += len(body)
        if ex.body_bytes > self.worker.max_body_bytes:
            raise Refused(codes.BODY_TOO_LARGE)
        if ex.error is None and not ex.done:
            ex.send_body(body)

    def on_message_complete(self) -> None:
        self.line_version = b""  # a request after this one in the same data asks the parser
        self.in_trailer = False
        ex, self.parsing = self.parsing, None
        if ex is not None:
            if ex.request.upgrade:
                self.upgrading = ex
            elif not ex.keep_alive:
                self.last_request = True
            ex.request_complete()

    # used by exchanges

    def send(self, data: bytes) -> None:
        """Queue bytes for the client; ``flush`` writes them in one call."""
        self.wbuf.append(data)

    def flush(self) -> None:
        wbuf = self.wbuf
        if wbuf:  # often empty: the second flush after a response, with nothing pipelined
            if not self.closed:
                self.write(wbuf[0] if len(wbuf) == 1 else b"".join(wbuf))
            wbuf.clear()

    def pause_reading(self, reason: Paused) -> None:
        if not self.paused and not self.closed:
            self.transport.pause_reading()
        self.paused |= reason

    def resume_reading(self, reason: Paused) -> None:
        if self.paused & reason:
            self.paused &= ~reason
            if not self.paused and not self.closed:
                self.transport.resume_reading()

    def exchange_done(self, ex: Exchange) -> None:
        """An exchange has ended: close, or start the next request in line."""
        if ex is self.upgrading:
            self.upgrading = None
        if ex is not self.active:
            return
        self.active = None
        if self.paused:
            self.resume_reading(Paused.UPSTREAM_FULL)
        if self.tunnel is not None or self.lingering:
            return
        if self.queue and ex.keep_alive and ex.req_done and not self.worker.closing:
            self.active = self.queue.popleft()
            self.resume_reading(Paused.HOLDING)
            self.active.start()
        elif self.refusal is not None and not self.worker.closing:
            self.answer(None, self.refusal)  # the request after the answered ones
        elif not ex.keep_alive or not ex.req_done or self.worker.closing or self.eof:
            self.flush()
            self.close()

    def abort(self) -> None:
        """Cut the connection at once (an error after the response head was sent)."""
        self.flush()
        self.closed = True
        self.transport.abort()

    def refuse(self, error: RouterError) -> None:
        """Refuse the request being read: at once, or, when requests before it are still being
        answered, once their responses are out (a pipelining client loses none of them)."""
        target, self.parsing = self.parsing, None
        if target is not None and target is not self.active:
            self.queue.remove(target)  # never started: the refusal answers in its place
            target = None
        active = self.active
        if target is None and ((active is not None and not active.done) or self.queue):
            self.refusal = error  # nothing more is read; ``exchange_done`` answers it in turn
            return
        self.answer(target, error)

    def answer(self, target: Exchange | None, error: RouterError) -> None:
        """Answer ``error`` for ``target`` (or for the request being read), then close once the
        client stops sending."""
        self.lingering = True  # from here on nothing is parsed and nothing else is started
        self.refusal = None
        self.queue.clear()
        if target is None or target.done:
            target = endings.refused_exchange(self, error)
        self.active = target
        target.refuse(error)
        self.linger()

    def linger(self) -> None:
        """Stop writing, keep discarding what the client sends for a moment, then close.

        Closing with unread request bytes would make the kernel reset the connection, and the
        client could lose the error page written just before.
        """
        self.lingering = True
        if self.closed:
            return
        self.flush()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.worker.loop.call_later(endings.LINGER, self.transport.close)

    def time_out_head(self) -> None:
        """The request head was not whole in time: refused, and never timed out again."""
        self.head_began = 0.0
        self.refuse(codes.CLIENT_IDLE)

    def close(self) -> None:
        """Close once what was written is sent."""
        self.closed = True
        self.transport.close()

    def shutdown(self) -> None:
        """Stop after the current response (graceful stop)."""
        if self.active is None and not self.in_head and self.tunnel is None:
            self.close()
