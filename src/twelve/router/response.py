"""The response side of an exchange: what goes to the client of the web process's answer.

A plain response passes as it came (``Response.passed``); any other is written again from what
the parser read (``Response.head``), with the router's Via, its framing for this client (chunked,
or to the connection's end for HTTP/1.0) and its Connection header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, final

from twelve.router.messages import CHUNK_END, CRLF, chunk, status_start

if TYPE_CHECKING:
    from twelve.router.proxy import ClientConnection
    from twelve.router.request import Request
    from twelve.router.upstream import UpstreamConnection

_NO_BODY_STATUS: Final = frozenset({101, 204, 304})
_VIA: Final = b"Via: 1.1 twelve\r\n"
_CLOSE: Final = b"Connection: close\r\n"
_KEEP_ALIVE: Final = b"Connection: keep-alive\r\n"
_CHUNKED: Final = b"Transfer-Encoding: chunked\r\n"


@final
class Response:
    """What the router has sent the client of one response, and how its body is framed."""

    __slots__ = ("chunked", "client", "head_sent", "nbytes", "request", "status", "until_close")

    def __init__(self, client: ClientConnection, request: Request) -> None:
        self.client = client
        self.request = request
        self.status = 0
        self.nbytes = 0
        self.head_sent = False
        self.chunked = False  # re-framed as chunks for the client
        self.until_close = False  # the app's body ends when its connection does

    def interim(self, conn: UpstreamConnection, status: int) -> None:
        """Pass on a 1xx head (not 101) the parser read: the real response follows."""
        self.client.send(b"".join([status_start(status), conn.reason, CRLF, *conn.parts, CRLF]))

    def head(self, conn: UpstreamConnection, status: int, keep_alive: bool, closing: bool) -> bool:
        """Send the final head the parser read of ``conn``'s response; return whether the client
        connection stays open after it (``keep_alive``: it would; ``closing``: the worker stops).
        """
        request = self.request
        self.status = status
        self.head_sent = True
        head = [status_start(status), conn.reason, CRLF]
        head += conn.parts
        head.append(_VIA)
        if request.hsts:
            head.append(request.hsts)
        if status == 101 and request.upgrade:
            head.append(b"Connection: Upgrade\r\nUpgrade: %b\r\n" % conn.upgrade)
        elif not (request.is_head or status in _NO_BODY_STATUS or conn.has_length):
            self.until_close = not conn.chunked
            if request.http10:  # no chunked encoding in HTTP/1.0: the body ends when we close
                keep_alive = False
            else:
                self.chunked = True
                head.append(_CHUNKED)
        if request.upgrade and status != 101:
            keep_alive = False  # the client may already be talking the new protocol
        if status != 101:
            if not keep_alive or closing:
                keep_alive = False
                head.append(_CLOSE)
            elif request.http10:
                head.append(_KEEP_ALIVE)
        head.append(CRLF)
        data = b"".join(head)
        self.nbytes += len(data)
        self.client.send(data)
        return keep_alive

    def passed(self, status: int, raw: bytes) -> None:
        """The fast path: the backend's response head (and what followed) goes out unchanged."""
        self.status = status
        self.head_sent = True
        self.nbytes += len(raw)
        self.client.send(raw)

    def body(self, data: bytes) -> None:
        """A piece of the response body."""
        self.nbytes += len(data)
        self.client.send(chunk(data) if self.chunked else data)

    def end(self) -> None:
        """The body is complete: end it, if the router framed it in chunks."""
        if self.chunked:
            self.client.send(CHUNK_END)
