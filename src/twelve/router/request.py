"""A request as the router read it (``Request``), and the checks that decide what it asks. Pure.

``proxy`` reads a request head with httptools and refuses, through ``Refused``, anything these
checks find ambiguous; what is left becomes a ``Request``, fixed from then on.
"""

from __future__ import annotations

import re
from typing import Final, final

from twelve.router import codes
from twelve.router.codes import RouterError
from twelve.router.table import Route

# A Host (or an absolute-form authority): a name of unreserved characters or an IPv6 literal,
# then an optional port. No user info, path, query or percent-encoding: such a value names no
# app, and would reach the app and its X-Forwarded-Host as it came.
VALID_HOST: Final = re.compile(rb"(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{0,5})?")
# Headers that frame or route the request: a Connection header naming one is refused, since a
# proxy that removed it would send the app a request other than the one it read.
NEVER_HOP_BY_HOP: Final = frozenset({b"host", b"content-length", b"transfer-encoding"})
_CHUNKED: Final = b"chunked"
_CHUNKED_LINE: Final = b"Transfer-Encoding: chunked\r\n"


class Refused(Exception):
    """Raised from a parser callback to refuse the request with ``error``."""

    def __init__(self, error: RouterError) -> None:
        super().__init__(error.code)
        self.error = error


@final
class Request:
    """What one request asks of an app: its route, the head to send upstream, what its access
    line shows, and how it is framed."""

    __slots__ = (
        "chunked",
        "fwd",
        "has_body",
        "head",
        "host",
        "hsts",
        "http10",
        "is_head",
        "method",
        "path",
        "plain",
        "request_id",
        "route",
        "upgrade",
    )

    def __init__(
        self,
        *,
        route: Route | None,
        head: bytes,
        method: bytes,
        path: bytes,
        host: bytes,
        request_id: bytes,
        fwd: bytes,
        http10: bool = False,
        has_body: bool = False,
        chunked: bool = False,
        upgrade: bool = False,
        hsts: bytes = b"",
    ) -> None:
        self.route = route
        self.head = head  # what the backend is sent, as ``hotpath.upstream_head`` wrote it
        self.method = method
        self.path = path
        self.host = host  # log-safe, as are the two below
        self.request_id = request_id
        self.fwd = fwd
        self.http10 = http10
        self.has_body = has_body
        self.chunked = chunked  # the body comes chunked, and goes up chunked again
        self.upgrade = upgrade
        self.hsts = hsts  # a Strict-Transport-Security line added to the response head
        self.is_head = method == b"HEAD"
        # A response to this request may pass through byte for byte (see ``UpstreamConnection``):
        # nothing in its head is to be rewritten.
        self.plain = not (http10 or upgrade or self.is_head or hsts)


def absolute_form(url: bytes) -> tuple[bytes, bytes]:
    """``(authority, origin-form target)`` of an absolute-form request target."""
    scheme, sep, rest = url.partition(b"://")
    if not sep or scheme.lower() not in (b"http", b"https"):
        raise Refused(codes.BAD_REQUEST)
    cut = len(rest)
    for mark in (b"/", b"?"):
        found = rest.find(mark)
        if 0 <= found < cut:
            cut = found
    authority, target = rest[:cut], rest[cut:]
    if not authority or VALID_HOST.fullmatch(authority) is None:
        raise Refused(codes.BAD_REQUEST)  # user info ("user@host") among others
    if not target.startswith(b"/"):
        target = b"/" + target
    return authority, target


def check_codings(value: bytes) -> None:
    """Refuse a request whose transfer codings are other than ``chunked`` alone: 501 for codings
    before it, which the router does not decode (RFC 9112 section 6.1), 400 for anything else."""
    codings = [c.strip(b" \t").lower() for c in value.split(b",")]
    if codings != [_CHUNKED]:
        raise Refused(codes.UNKNOWN_CODING if codings[-1] == _CHUNKED else codes.BAD_REQUEST)


def framing(
    transfer_encoding: bytes | None, content_length: bytes | None, max_body: int
) -> tuple[bytes, int]:
    """The framing header the router writes upstream for a request with these headers, and its
    Content-Length (0 for none or chunked); refused when the router will not forward it."""
    if transfer_encoding is not None:
        check_codings(transfer_encoding)
        return _CHUNKED_LINE, 0
    if content_length is None:
        return b"", 0
    length = int(content_length)
    if length > max_body:
        raise Refused(codes.BODY_TOO_LARGE)
    return b"Content-Length: %d\r\n" % length, length
