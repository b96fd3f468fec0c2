"""The byte work the router does for every request: the access line, the request head it sends
upstream, two scans of what the client sent and two of what the app answered. Pure.

The compiled build also has these in C (``_hotpath`` and its files), and then uses those: done with
``bytes %``, ``join`` and bytes methods they were the largest costs the proxy itself added to a
request. The functions here are the reference; the tests hold both versions to the same results.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from types import ModuleType
from typing import Final, cast

from twelve.router.codes import RouterError
from twelve.router.constants import RESPONSE_HOP_BY_HOP
from twelve.router.messages import log_safe

INFO: Final = b"at=info"

_LINE: Final = (
    b'{"app": %b, "line": "%b method=%b path=\\"%b\\" host=%b request_id=%b fwd=\\"%b\\" '
    b'dyno=%b connect=%dms service=%dms status=%d bytes=%d"}\n'
)


def access_line_py(
    app_json: bytes,
    at: bytes,
    method: bytes,
    path: bytes,
    host: bytes,
    request_id: bytes,
    fwd: bytes,
    dyno: bytes,
    connect_ms: int,
    service_ms: int,
    status: int,
    nbytes: int,
) -> bytes:
    """One access line as JSON, ending in a newline.

    ``app_json`` is the app's name as a JSON value (``b'"hello"'`` or ``b"null"``); ``at`` is
    ``INFO`` or ``error_at(...)``; ``path`` is made log-safe here; the other byte fields must be
    log-safe already (``messages.log_safe``), which also makes them JSON-safe.
    """
    return _LINE % (
        app_json, at, method, log_safe(path), host, request_id, fwd, dyno, connect_ms, service_ms,
        status, nbytes,
    )  # fmt: skip


def upstream_head_py(
    parts: list[bytes], forwarded: bytes, host: bytes, request_id: bytes, start_ms: int, tail: bytes
) -> bytes:
    """The request head for the backend: the client's request line (the first four ``parts``)
    and kept headers (the rest, name and value in turn), the per-connection forwarded headers,
    the per-request ones, then ``tail`` (framing and the blank line)."""
    if len(parts) < 4 or len(parts) % 2:
        raise ValueError(
            f"parts must be the request line's 4 pieces and name, value pairs ({len(parts)} items)"
        )
    pieces = parts[:4]
    for i in range(4, len(parts), 2):
        pieces += (parts[i], b": ", parts[i + 1], b"\r\n")
    per_request = b"X-Forwarded-Host: %b\r\nX-Request-Id: %b\r\nX-Request-Start: %d\r\n" % (
        host,
        request_id,
        start_ms,
    )
    return b"".join((*pieces, forwarded, per_request, tail))


def line_version_py(data: bytes) -> bytes:
    """The last eight bytes of the request line ``data`` starts with (``b"HTTP/1.1"`` in a sane
    request), or ``b""`` when the line is not all there, does not end in CRLF, or has no space
    before those bytes.

    The parser checks the line strictly; reading the version here is cheaper than asking it.
    """
    end = data.find(b"\r\n")
    # A space must stand before the version: in ``GET /HTTP/1.1`` it is part of the target.
    if end >= 9 and data.find(b"\n") == end + 1 and data[end - 9] == 32:
        return data[end - 8 : end]
    return b""


_RESPONSE_HOP_BY_HOP: Final = frozenset(RESPONSE_HOP_BY_HOP)


# A plain response head: an HTTP/1.0 or 1.1 status line with nothing but visible ASCII and spaces in its
# reason, then headers with token names and values of visible ASCII, spaces and tabs, each line
# ending in CRLF.
_HTTP10_HEAD: Final = re.compile(
    rb"HTTP/1\.[01] ([0-9]{3})(?: [\x20-\x7e]*)?\r\n"
    rb"((?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e]*\r\n)*)\r\n"
)


def plain_response_py(data: bytes) -> tuple[int, int] | None:
    """``(status, where the response ends)`` when ``data`` starts with the whole head of a plain
    HTTP/1.0 or 1.1 response: a final status with a body (not 1xx, 204 or 304), one
    Content-Length, no hop-by-hop header, and nothing in it the strictest parser would question.
    None otherwise, and the response goes to a parser (so anything this is unsure of costs only
    time).

    Such a response needs no parser: it passes on as it is (HTTP/1.0: with the router's version),
    it is complete when the Content-Length's bytes have followed the head, and its connection is
    kept alive after it in HTTP/1.1 (no Connection header says otherwise) and closed in HTTP/1.0.
    """
    return _length_framed(data, _RESPONSE_HOP_BY_HOP)


def _length_framed(data: bytes, refused: frozenset[bytes]) -> tuple[int, int] | None:
    """``(status, where the response ends)`` when ``data`` starts with a whole, strict head of a
    final response with a body, one Content-Length and no header named in ``refused``."""
    head = _HTTP10_HEAD.match(data)
    if head is None:
        return None
    status = int(head[1])
    if status < 200 or status > 599 or status in (204, 304):
        return None
    length = -1
    for line in head[2].split(b"\r\n")[:-1]:
        name, _, value = line.partition(b":")
        lowered = name.lower()
        if lowered in refused:
            return None
        if lowered == b"content-length":
            value = value.strip(b" \t")
            if length >= 0 or not value or len(value) > 18 or not value.isdigit():
                return None
            length = int(value)
    if length < 0:
        return None
    return status, head.end() + length


def header_table_py(kinds: dict[bytes, int]) -> object:
    """``kinds`` (lowercase header name: kind) in the form ``header_kind`` reads."""
    return kinds


def header_kind_py(name: bytes, table: object, default: int) -> int:
    """What the ``header_table`` says of header ``name``, whatever its case, else ``default``."""
    return cast("dict[bytes, int]", table).get(name.lower(), default)


def error_at(error: RouterError) -> bytes:
    """The ``at=error code=... desc="..."`` start of an error line, escaped for JSON."""
    return f'at=error code={error.code} desc=\\"{error.desc}\\"'.encode()


AccessLine = Callable[
    [bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes, int, int, int, int], bytes
]
UpstreamHead = Callable[[list[bytes], bytes, bytes, bytes, int, bytes], bytes]
LineVersion = Callable[[bytes], bytes]
HeaderTable = Callable[[dict[bytes, int]], object]
HeaderKind = Callable[[bytes, object, int], int]
PlainResponse = Callable[[bytes], "tuple[int, int] | None"]


def c_module(name: str) -> ModuleType | None:
    """The C module ``twelve.router.<name>`` of the compiled build in use, or None when the
    router runs interpreted (no build on the import path)."""
    try:
        return importlib.import_module(f"twelve.router.{name}")
    except ImportError:
        return None


COMPILED_MODULE: Final = c_module("_hotpath")
access_line: Final[AccessLine] = (
    COMPILED_MODULE.access_line if COMPILED_MODULE is not None else access_line_py
)
upstream_head: Final[UpstreamHead] = (
    COMPILED_MODULE.upstream_head if COMPILED_MODULE is not None else upstream_head_py
)
line_version: Final[LineVersion] = (
    COMPILED_MODULE.line_version if COMPILED_MODULE is not None else line_version_py
)
header_table: Final[HeaderTable] = (
    COMPILED_MODULE.header_table if COMPILED_MODULE is not None else header_table_py
)
header_kind: Final[HeaderKind] = (
    COMPILED_MODULE.header_kind if COMPILED_MODULE is not None else header_kind_py
)
plain_response: Final[PlainResponse] = (
    COMPILED_MODULE.plain_response if COMPILED_MODULE is not None else plain_response_py
)
