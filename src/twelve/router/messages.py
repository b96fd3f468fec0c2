"""HTTP/1.1 message pieces the proxy builds: header kinds, forwarded headers, request ids. Pure.

Everything here works on ``bytes`` as the parser hands them over, so the hot path never decodes a
header it only copies, and log fields stay ``bytes`` until the access line is written.
"""

from __future__ import annotations

import os
import re
from typing import Final

from twelve.router.constants import MAX_LOGGED, RESPONSE_HOP_BY_HOP

CRLF: Final = b"\r\n"
SEP: Final = b": "
CHUNK_END: Final = b"0\r\n\r\n"
VIA: Final = b"1.1 twelve"

# What the proxy does with each request header it meets (by lowercased name); others are copied.
KEEP: Final = 0
HOST: Final = 1
CONTENT_LENGTH: Final = 2
TRANSFER_ENCODING: Final = 3
CONNECTION: Final = 4
UPGRADE: Final = 5
DROP: Final = 6  # hop-by-hop, or set by the router itself
FORWARDED_FOR: Final = 7
REQUEST_ID: Final = 8
VIA_HEADER: Final = 9
PROXY_CONNECTION: Final = 10  # dropped; the parser reads it as it reads Connection

REQUEST_HEADERS: Final[dict[bytes, int]] = {
    b"host": HOST,
    b"content-length": CONTENT_LENGTH,
    b"transfer-encoding": TRANSFER_ENCODING,
    b"connection": CONNECTION,
    b"upgrade": UPGRADE,
    b"keep-alive": DROP,
    b"proxy-connection": PROXY_CONNECTION,
    b"te": DROP,
    b"trailer": DROP,
    b"x-forwarded-proto": DROP,
    b"x-forwarded-port": DROP,
    b"x-forwarded-host": DROP,
    b"x-request-start": DROP,
    b"x-forwarded-for": FORWARDED_FOR,
    b"x-request-id": REQUEST_ID,
    b"via": VIA_HEADER,
}

# What the proxy does with each response header it meets; others are copied. The hop-by-hop ones
# belong to one connection and never cross the proxy: the framing and upgrade ones are read
# first, the rest dropped.
_READ_HOP_BY_HOP: Final = {
    b"transfer-encoding": TRANSFER_ENCODING,
    b"upgrade": UPGRADE,
    b"connection": CONNECTION,
}
RESPONSE_HEADERS: Final[dict[bytes, int]] = {
    b"content-length": CONTENT_LENGTH,
    **{name: _READ_HOP_BY_HOP.get(name, DROP) for name in RESPONSE_HOP_BY_HOP},
}
# The start of a status line, by status code: formatting one per response costs more.
_STATUS_STARTS: Final = {code: b"HTTP/1.1 %d " % code for code in range(100, 600)}

# Connection options every proxy understands; any other listed name is a header to drop.
_CONNECTION_OPTIONS: Final = frozenset({"close", "keep-alive", "upgrade", ""})

# Heroku accepts request ids of 20 to 200 of these characters; a shorter one is still useful to the
# app that sent it, so any length from 1 is kept.
_SANE_REQUEST_ID: Final = re.compile(rb"[A-Za-z0-9+/=_.:@-]{1,200}")
# Printable ASCII but the quote and the backslash: such a value can stand inside a quoted log field
# and inside a JSON string as it is.
_UNSAFE_LOG_CHARS: Final = re.compile(rb"[^\x21\x23-\x5b\x5d-\x7e]")


def connection_tokens(value: bytes) -> set[str]:
    """The lowercased options of a ``Connection`` header value."""
    return {t.strip().lower() for t in value.decode("latin-1").split(",")}


def nominated_headers(tokens: set[str]) -> set[bytes]:
    """Header names a ``Connection`` header makes hop-by-hop (RFC 9110 section 7.6.1)."""
    return {t.encode("latin-1") for t in tokens - _CONNECTION_OPTIONS}


def drop_headers(parts: list[bytes], names: set[bytes]) -> list[bytes]:
    """Remove headers named in ``names`` from a ``[name, value, name, value, ...]`` list."""
    kept: list[bytes] = []
    for i in range(0, len(parts), 2):
        if parts[i].lower() not in names:
            kept += (parts[i], parts[i + 1])
    return kept


def sane_request_id(value: bytes) -> bytes | None:
    """The client's ``X-Request-Id`` when it is safe to pass on and log, else None."""
    return value if _SANE_REQUEST_ID.fullmatch(value) else None


_HEAD_END: Final = b"\r\n\r\n"
_LOW_DIGITS: Final = tuple(b"%03x" % n for n in range(4096))


class RequestIds:
    """Request ids in UUID form: a random per-process prefix and a counter, cheap and unique.

    The counter's last three hex digits come from a table and the rest is formatted once per 4096
    ids, so making an id is one concatenation.
    """

    __slots__ = ("_count", "_high", "_prefix")

    def __init__(self) -> None:
        raw = os.urandom(10).hex()
        # 8-4-4-4 of a version 4 UUID, then a counter as the last 12 hex digits.
        self._prefix = f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-".encode()
        self._count = int.from_bytes(os.urandom(4), "big")
        self._high = b"%b%09x" % (self._prefix, self._count >> 12)

    def next(self) -> bytes:
        self._count = count = (self._count + 1) & 0xFFFFFFFFFFFF
        low = count & 0xFFF
        if not low:
            self._high = b"%b%09x" % (self._prefix, count >> 12)
        return self._high + _LOW_DIGITS[low]


def log_safe(value: bytes) -> bytes:
    """A value made safe inside a ``key="value"`` log field: bounded, printable ASCII, no quotes.

    Bytes outside that set are percent-encoded, so the result also needs no escaping in JSON.
    """
    if len(value) > MAX_LOGGED:
        value = value[:MAX_LOGGED] + b"..."
    if _UNSAFE_LOG_CHARS.search(value) is None:
        return value
    return _UNSAFE_LOG_CHARS.sub(_percent, value)


def _percent(found: re.Match[bytes]) -> bytes:
    return b"%%%02X" % found.group()[0]


def forwarded_block(xff: bytes, proto: bytes, port: bytes) -> bytes:
    """The added headers that depend only on the client connection (computed once per connection)."""
    return (
        b"X-Forwarded-For: %b\r\nX-Forwarded-Proto: %b\r\nX-Forwarded-Port: %b\r\nVia: %b\r\n"
        % (
            xff,
            proto,
            port,
            VIA,
        )
    )


def status_start(status: int) -> bytes:
    """``HTTP/1.1 <status> ``: a status line up to its reason phrase."""
    return _STATUS_STARTS.get(status) or b"HTTP/1.1 %d " % status


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body."""
    return b"%x\r\n%b\r\n" % (len(data), data)


def drop_nominated(parts: list[bytes], connection: bytes) -> list[bytes]:
    """A response's kept headers (``parts``: name, ": ", value, CRLF in turn) without those its
    ``connection`` header makes hop-by-hop (RFC 9110 section 7.6.1); never its Content-Length,
    which frames what the client gets."""
    names = nominated_headers(connection_tokens(connection)) - {b"content-length"}
    if not names:
        return parts
    return [
        piece
        for i in range(0, len(parts), 4)
        if parts[i].lower() not in names
        for piece in parts[i : i + 4]
    ]


def head_end(data: bytes, heads: int) -> int:
    """Where the ``heads``-th response head in ``data`` ends (interim 1xx heads counted), for
    heads a parser has accepted: each ends at its first empty line."""
    end = 0
    for _ in range(heads):
        while data.startswith(b"\r\n", end):  # empty lines a parser skips between messages
            end += 2
        found = data.find(_HEAD_END, end)
        if found < 0:
            return len(data)
        end = found + 4
    return end
