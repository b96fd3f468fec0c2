"""The head of the request being read (``RequestHead``): what the parser's callbacks gave of it,
and the head it becomes for the backend.

The head sent upstream is built from what the parser read: the request line, the kept headers,
and the framing, Host and forwarded headers the router writes itself, so an app never reads a
request other than the one the router did.
"""

from __future__ import annotations

from typing import Final, final

from httptools import HttpRequestParser

from twelve.router import codes
from twelve.router.hotpath import header_kind, header_table, upstream_head
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
)
from twelve.router.request import (
    NEVER_HOP_BY_HOP,
    VALID_HOST,
    Refused,
    Request,
    absolute_form,
    framing,
)
from twelve.router.table import Route, RouteTable

_VERSION: Final = b" HTTP/1.1\r\n"
_HOST: Final = b"Host"
_HEADERS: Final = header_table(REQUEST_HEADERS)


def is_http10(line_version: bytes, parser: HttpRequestParser) -> bool:
    """Whether the request is HTTP/1.0 (else 1.1): off its request line's last bytes when they
    were read there (``hotpath.line_version``), else from the parser, and then any later 1.x is
    read as 1.1 (RFC 9112 section 2.3), any other major version is refused with 505."""
    if line_version == b"HTTP/1.1":
        return False
    if line_version == b"HTTP/1.0":
        return True
    major, _, minor = parser.get_http_version().partition(".")
    if major != "1" or not minor.isdigit():
        raise Refused(codes.BAD_VERSION)
    return minor == "0"


@final
class Peer:
    """The client end of a connection as the forwarded headers tell it, worked out once."""

    __slots__ = ("address", "block", "log", "port", "proto")

    def __init__(self, address: bytes, port: bytes, proto: bytes) -> None:
        self.address = address
        self.port = port  # the router's port the client connected to
        self.proto = proto  # X-Forwarded-Proto: https for connections on the TLS socket
        self.block = forwarded_block(address, proto, port)
        self.log = log_safe(address)

    def forwarded(self, xff: bytes | None) -> tuple[bytes, bytes]:
        """The forwarded headers of a request that came with ``xff`` (X-Forwarded-For), and the
        chain of addresses as the access line shows it."""
        if xff is None:
            return self.block, self.log
        chain = xff + b", " + self.address
        return forwarded_block(chain, self.proto, self.port), log_safe(chain)


@final
class LastRoute:
    """The last Host a connection asked for and what it resolved to, for the keep-alive
    requests after it to the same app."""

    __slots__ = ("host", "host_log", "route", "table")

    def __init__(self) -> None:
        self.host: bytes | None = None
        self.table: RouteTable | None = None
        self.route: Route | None = None
        self.host_log = b""  # the host as the access line shows it

    def lookup(self, table: RouteTable, host: bytes) -> Route | None:
        """The route of ``host`` in ``table``; refused when ``host`` is no sane Host."""
        if host != self.host or table is not self.table:
            if host and VALID_HOST.fullmatch(host) is None:
                raise Refused(codes.BAD_REQUEST)
            self.host, self.table = host, table
            self.route = table.lookup(host.decode("latin-1"))
            self.host_log = log_safe(host)
        return self.route


@final
class RequestHead:
    """What was read of one request head, header by header."""

    __slots__ = (
        "connection",
        "content_length",
        "host",
        "options",
        "parts",
        "request_id",
        "size",
        "transfer_encoding",
        "upgrade",
        "url",
        "xff",
    )

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the head read: the next request's comes (one object a connection, not one a
        request)."""
        self.size = 0  # bytes of the head, and of a trailer after it, counted against the limit
        self.url = b""
        # The head to send upstream, built as headers arrive (name and value in turn) after the
        # request line's four slots (method, space, target, version), filled in when the head is
        # complete.
        self.parts: list[bytes] = [b"", b" ", b"", _VERSION, _HOST, b""]
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

    def add_url(self, url: bytes, limit: int) -> None:
        """A piece of the request target; refused when the head grows past ``limit`` bytes."""
        self.url = self.url + url if self.url else url  # one piece, nearly always: no copy
        self.size += len(url)
        if self.size > limit:
            raise Refused(codes.HEADERS_TOO_LARGE)

    def add_header(self, name: bytes, value: bytes, limit: int, in_head: bool = True) -> None:
        """A header of the head (``in_head``; else of a chunked body's trailer, counted but not
        forwarded): kept for the backend, or read for what the router writes."""
        self.size += len(name) + len(value) + 4
        if self.size > limit:
            raise Refused(codes.HEADERS_TOO_LARGE)
        if not in_head:
            return
        kind = header_kind(name, _HEADERS, KEEP)
        if kind == KEEP:
            parts = self.parts
            parts.append(name)  # two appends cost less than extending by a tuple
            parts.append(value)
        elif kind == HOST:
            if self.host is not None:
                raise Refused(codes.BAD_REQUEST)
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

    def target(self, http10: bool) -> tuple[bytes, bytes]:
        """The request's host and origin-form target."""
        url = self.url
        host = self.host
        if url[:1] != b"/" and url != b"*":  # absolute form: the URL's host wins (RFC 9112 3.2.2)
            host, url = absolute_form(url)
        if host is None:
            if not http10:
                raise Refused(codes.BAD_REQUEST)
            host = b""
        return host, url

    def request(
        self,
        *,
        route: Route | None,
        method: bytes,
        target: tuple[bytes, bytes],
        host_log: bytes,
        http10: bool,
        upgrade: bool,
        peer: Peer,
        request_id: bytes,
        max_body: int,
        start_ms: int,
    ) -> Request:
        """The request read, for ``route``, with the head the backend is sent; refused when the
        router will not forward it. ``target`` is what ``target`` said."""
        host, url = target
        forwarded, fwd_log = peer.forwarded(self.xff)
        head, length = self._upstream(
            method, url, host, request_id, forwarded, upgrade, max_body, start_ms
        )
        edge = route.edge if route is not None else None
        return Request(
            route=route,
            head=head,
            method=method,
            path=url,
            host=host_log,
            request_id=request_id,
            fwd=fwd_log,
            http10=http10,
            has_body=length > 0 or self.transfer_encoding is not None,
            chunked=self.transfer_encoding is not None,
            upgrade=upgrade,
            hsts=(
                b"Strict-Transport-Security: %b\r\n" % edge.hsts
                if edge is not None and edge.hsts and peer.proto == b"https"
                else b""
            ),
        )

    def _upstream(
        self,
        method: bytes,
        url: bytes,
        host: bytes,
        request_id: bytes,
        forwarded: bytes,
        upgrade: bool,
        max_body: int,
        start_ms: int,
    ) -> tuple[bytes, int]:
        """The head to send the backend, and the body's Content-Length (0 for none or chunked)."""
        parts = self.parts
        if self.connection:
            nominated = nominated_headers(connection_tokens(self.connection))
            if nominated:
                if not nominated.isdisjoint(NEVER_HOP_BY_HOP):
                    raise Refused(codes.BAD_REQUEST)
                parts = [*parts[:6], *drop_headers(parts[6:], nominated)]
        tail, length = framing(self.transfer_encoding, self.content_length, max_body)
        if upgrade:
            tail += b"Connection: Upgrade\r\nUpgrade: %b\r\n" % self.upgrade
        parts[0] = method
        parts[2] = url
        parts[5] = host
        return upstream_head(parts, forwarded, host, request_id, start_ms, tail + CRLF), length
