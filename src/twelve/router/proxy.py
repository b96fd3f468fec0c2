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
import re
from collections import deque
from collections.abc import Callable
from time import time as wall_clock
from typing import TYPE_CHECKING, Final

from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser

from twelve.router import codes, endings
from twelve.router.codes import RouterError
from twelve.router.edge import answer as edge_answer
from twelve.router.exchange import Exchange
from twelve.router.hotpath import header_kind, header_table, line_version, upstream_head
from twelve.router.messages import (
    CONNECTION,
    CONTENT_LENGTH,
    CRLF,
    FORWARDED_FOR,
    HOST,
    KEEP,
    PROXY_CONNECTION,
    REQUEST_HEADERS,
    REQUEST_ID,
    TRANSFER_ENCODING,
    UPGRADE,
    connection_tokens,
    drop_headers,
    forwarded_block,
    log_safe,
    nominated_headers,
    sane_request_id,
)
from twelve.router.table import Route

if TYPE_CHECKING:
    from twelve.router.worker import Worker

_MAX_QUEUED: Final = 16  # pipelined requests held behind the first before reading pauses
_VERSION: Final = b" HTTP/1.1\r\n"
_HOST: Final = b"Host"
# A Host (or an absolute-form authority): a name of unreserved characters or an IPv6 literal,
# then an optional port. No user info, path, query or percent-encoding: such a value names no
# app, and would reach the app and its X-Forwarded-Host as it came.
_VALID_HOST: Final = re.compile(rb"(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{0,5})?")
# Headers that frame or route the request: a Connection header naming one is refused, since a
# proxy that removed it would send the app a request other than the one it read.
_NEVER_HOP_BY_HOP: Final = frozenset({b"host", b"content-length", b"transfer-encoding"})
_CHUNKED: Final = b"chunked"
_HEADERS: Final = header_table(REQUEST_HEADERS)
# Never fed: what a closed connection holds instead of its parser.
_NO_PARSER: Final = HttpRequestParser(object())


class _Refused(Exception):
    """Raised from a parser callback to refuse the request with ``error``."""

    def __init__(self, error: RouterError) -> None:
        super().__init__(error.code)
        self.error = error


def _absolute_form(url: bytes) -> tuple[bytes, bytes]:
    """``(authority, origin-form target)`` of an absolute-form request target."""
    scheme, sep, rest = url.partition(b"://")
    if not sep or scheme.lower() not in (b"http", b"https"):
        raise _Refused(codes.BAD_REQUEST)
    cut = len(rest)
    for mark in (b"/", b"?"):
        found = rest.find(mark)
        if 0 <= found < cut:
            cut = found
    authority, target = rest[:cut], rest[cut:]
    if not authority or _VALID_HOST.fullmatch(authority) is None:
        raise _Refused(codes.BAD_REQUEST)  # user info ("user@host") among others
    if not target.startswith(b"/"):
        target = b"/" + target
    return authority, target


def _check_codings(value: bytes) -> None:
    """Refuse a request whose transfer codings are other than ``chunked`` alone: 501 for codings
    before it, which the router does not decode (RFC 9112 section 6.1), 400 for anything else."""
    codings = [c.strip(b" \t").lower() for c in value.split(b",")]
    if codings != [_CHUNKED]:
        raise _Refused(codes.UNKNOWN_CODING if codings[-1] == _CHUNKED else codes.BAD_REQUEST)


class ClientConnection(asyncio.Protocol):
    """One client connection: parses requests, queues exchanges, writes responses in order."""

    def __init__(self, worker: Worker, proto: bytes = b"http") -> None:
        self.worker = worker
        self.proto = proto  # X-Forwarded-Proto: https for connections on the TLS socket
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # connection_made
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
        self.tunnel: asyncio.Transport | None = None
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
        self.peer = b""
        self.port = b""
        self.fwd_block = b""
        self.fwd_log = b""
        # The last Host seen and what it resolved to, for keep-alive requests to the same app.
        self.cached_host: bytes | None = None
        self.cached_table: object = None
        self.cached_route: Route | None = None
        self.cached_host_log = b""
        self.upstream_paused: asyncio.Transport | None = None
        # The version on the request line, when read off the data (see ``data_received``).
        self.line_version = b""
        self._reset_message()

    def _reset_message(self) -> None:
        self.url = b""
        # The head to send upstream, built as headers arrive (name and value in turn) after the
        # request line's four slots (method, space, target, version), filled in when the head is
        # complete.
        self.parts: list[bytes] = [b"", b" ", b"", _VERSION, _HOST, b""]
        self.head_bytes = 0
        self.host: bytes | None = None
        self.content_length: bytes | None = None
        self.transfer_encoding: bytes | None = None
        self.connection = b""
        self.upgrade = b""
        # A Connection, Proxy-Connection or Upgrade header was seen: keep-alive and upgrade are
        # the parser's to say. Without one they follow from the version alone (no call to ask).
        self.options = False
        self.xff: bytes | None = None
        self.request_id: bytes | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.write = self.transport.write
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        self.peer = str(peer[0]).encode() if isinstance(peer, tuple) else b"unknown"
        self.port = str(sock[1]).encode() if isinstance(sock, tuple) else b""
        # What every request on this connection shares, computed once per connection.
        self.fwd_block = forwarded_block(self.peer, self.proto, self.port)
        self.fwd_log = log_safe(self.peer)
        worker = self.worker
        if not worker.admit(self.peer):
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
        except _Refused as exc:
            self.refuse(exc.error)
        except HttpParserError as exc:
            if not self.last_request:  # else: bytes after a request that closes, dropped
                cause = exc.__context__
                self.refuse(cause.error if isinstance(cause, _Refused) else codes.BAD_REQUEST)
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
            self.worker.release(self.peer)
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
        ex = self.active
        target = self.tunnel or (ex.upstream.transport if ex and ex.upstream else None)
        if target is not None:
            self.upstream_paused = target
            if ex is not None and ex.upstream is not None:
                ex.upstream.reading_paused = True
            target.pause_reading()

    def resume_writing(self) -> None:
        target, self.upstream_paused = self.upstream_paused, None
        if target is not None and not target.is_closing():
            ex = self.active
            if ex is not None and ex.upstream is not None:
                ex.upstream.reading_paused = False
            target.resume_reading()

    # httptools callbacks

    def on_url(self, url: bytes) -> None:
        # The first callback of every request (no on_message_begin: one call less per request).
        if not self.in_head:
            self.in_head = True
            self.partial = 0
            if not self.head_began:
                self.head_began = self.last
        self.url = self.url + url if self.url else url  # one piece, nearly always: no copy
        self.head_bytes += len(url)
        if self.head_bytes > self.worker.max_header_bytes:
            raise _Refused(codes.HEADERS_TOO_LARGE)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_bytes += len(name) + len(value) + 4
        if self.head_bytes > self.worker.max_header_bytes:
            raise _Refused(codes.HEADERS_TOO_LARGE)
        if not self.in_head:
            return  # a chunked body's trailer: not forwarded
        kind = header_kind(name, _HEADERS, KEEP)
        if kind == KEEP:
            parts = self.parts
            parts.append(name)  # two appends cost less than extending by a tuple
            parts.append(value)
        elif kind == HOST:
            if self.host is not None:
                raise _Refused(codes.BAD_REQUEST)
            self.host = value  # sent on by the router itself, once it is known to be sane
        elif kind == CONTENT_LENGTH:
            self.content_length = value  # the parser's framing: the router writes it again
        elif kind == TRANSFER_ENCODING:
            te = self.transfer_encoding
            self.transfer_encoding = value if te is None else te + b"," + value
        elif kind == CONNECTION:
            self.connection = value if not self.connection else self.connection + b"," + value
            self.options = True
        elif kind == UPGRADE:
            self.upgrade = value
            self.options = True
        elif kind == PROXY_CONNECTION:
            self.options = True
        elif kind == FORWARDED_FOR:
            self.xff = value if self.xff is None else self.xff + b", " + value
        elif kind == REQUEST_ID:
            self.request_id = value

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.head_began = 0.0
        worker = self.worker
        line_version = self.line_version
        if line_version == b"HTTP/1.1":
            http10 = False
        elif line_version == b"HTTP/1.0":
            http10 = True
        else:
            http10 = self._read_version()
        method = self.get_method()
        if method == b"CONNECT":
            raise _Refused(codes.BAD_REQUEST)
        url = self.url
        host = self.host
        if url[:1] != b"/" and url != b"*":  # absolute form: the URL's host wins (RFC 9112 3.2.2)
            host, url = _absolute_form(url)
        if host is None:
            if not http10:
                raise _Refused(codes.BAD_REQUEST)
            host = b""
        if host != self.cached_host or worker.table is not self.cached_table:
            if host and _VALID_HOST.fullmatch(host) is None:
                raise _Refused(codes.BAD_REQUEST)
            text = host.decode("latin-1")
            self.cached_host, self.cached_table = host, worker.table
            self.cached_route = worker.table.lookup(text)
            self.cached_host_log = log_safe(host)
        route = self.cached_route
        upgrade = self.options and self.should_upgrade()
        parts = self.parts
        if self.connection:
            nominated = nominated_headers(connection_tokens(self.connection))
            if nominated:
                if not nominated.isdisjoint(_NEVER_HOP_BY_HOP):
                    raise _Refused(codes.BAD_REQUEST)
                parts = [*parts[:6], *drop_headers(parts[6:], nominated)]
        request_id = (self.request_id and sane_request_id(self.request_id)) or worker.ids.next()
        if self.xff is None:
            fwd_block, fwd_log = self.fwd_block, self.fwd_log
        else:
            xff = self.xff + b", " + self.peer
            fwd_block = forwarded_block(xff, self.proto, self.port)
            fwd_log = log_safe(xff)
        length = 0
        if self.transfer_encoding is not None:
            _check_codings(self.transfer_encoding)
            tail = b"Transfer-Encoding: chunked\r\n"
        elif self.content_length is not None:
            length = int(self.content_length)
            if length > worker.max_body_bytes:
                raise _Refused(codes.BODY_TOO_LARGE)
            tail = b"Content-Length: %d\r\n" % length
        else:
            tail = b""
        if upgrade:
            tail += b"Connection: Upgrade\r\nUpgrade: %b\r\n" % self.upgrade
        parts[0] = method
        parts[2] = url
        parts[5] = host
        head = upstream_head(
            parts, fwd_block, host, request_id, int(wall_clock() * 1000), tail + CRLF
        )
        error = None if route is not None else codes.UNKNOWN_HOST
        edge = route.edge if route is not None else None
        if edge is not None:
            error = edge_answer(edge, url, self.proto, host)
        ex = Exchange(
            self,
            route,
            error,
            head,
            method,
            url,
            self.cached_host_log,
            request_id,
            fwd_log,
            (self.should_keep_alive() and not upgrade) if self.options else not http10,
            http10,
            length > 0 or self.transfer_encoding is not None,
            self.transfer_encoding is not None,
            upgrade,
        )
        if edge is not None and edge.hsts and self.proto == b"https":
            ex.plain = False  # the head is written again, with the header added
            ex.hsts = b"Strict-Transport-Security: %b\r\n" % edge.hsts
        self._reset_message()
        self.parsing = ex
        if self.active is None:
            self.active = ex
            ex.start()
        else:
            self.queue.append(ex)
            if len(self.queue) >= _MAX_QUEUED:
                self.pause_reading(2)

    def _read_version(self) -> bool:
        """Whether the request is HTTP/1.0, from the parser: any later 1.x is read as 1.1
        (RFC 9112 section 2.3), any other major version is refused with 505."""
        major, _, minor = self.parser.get_http_version().partition(".")
        if major != "1" or not minor.isdigit():
            raise _Refused(codes.BAD_VERSION)
        return minor == "0"

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
            raise _Refused(codes.BODY_TOO_LARGE)
        if ex.error is None and not ex.done:
            ex.send_body(body)

    def on_message_complete(self) -> None:
        self.line_version = b""  # a request after this one in the same data asks the parser
        self.in_trailer = False
        ex, self.parsing = self.parsing, None
        if ex is not None:
            if ex.upgrade:
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

    def pause_reading(self, reason: int) -> None:
        if not self.paused and not self.closed:
            self.transport.pause_reading()
        self.paused |= reason

    def resume_reading(self, reason: int) -> None:
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
            self.resume_reading(1)
        if self.tunnel is not None or self.lingering:
            return
        if self.queue and ex.keep_alive and ex.req_done and not self.worker.closing:
            self.active = self.queue.popleft()
            self.resume_reading(2)
            self.active.start()
        elif self.refusal is not None and not self.worker.closing:
            endings.answer(self, None, self.refusal)  # the request after the answered ones
        elif not ex.keep_alive or not ex.req_done or self.worker.closing or self.eof:
            self.flush()
            self.closed = True
            self.transport.close()

    def abort(self) -> None:
        """Cut the connection at once (an error after the response head was sent)."""
        self.flush()
        self.closed = True
        self.transport.abort()

    def refuse(self, error: RouterError) -> None:
        """Answer a request the router will not forward, then close once the client stops."""
        endings.refuse(self, error)

    def shutdown(self) -> None:
        """Stop after the current response (graceful stop)."""
        if self.active is None and not self.in_head and self.tunnel is None:
            self.closed = True
            self.transport.close()
