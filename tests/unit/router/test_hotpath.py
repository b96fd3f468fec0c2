"""The router's per-request byte work, in Python and in the compiled build's C."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import httptools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support import load_native_module
from twelve.router import codes, hotpath
from twelve.router.messages import REQUEST_HEADERS, log_safe


@pytest.fixture(scope="module")
def c_module() -> ModuleType:
    return load_native_module("_hotpath")


NAMES = (
    "access_line", "upstream_head", "line_version", "header_table", "header_kind", "plain_response",
)  # fmt: skip


@pytest.fixture(params=["python", "c"])
def impl(request: pytest.FixtureRequest) -> dict[str, Callable[..., Any]]:
    if request.param == "python":
        return {name: getattr(hotpath, f"{name}_py") for name in NAMES}
    module = request.getfixturevalue("c_module")
    return {name: getattr(module, name) for name in NAMES}


def test_an_access_line_is_herokus_router_format_in_json(impl):
    line = impl["access_line"](
        b'"hello"', hotpath.INFO, b"GET", b"/", b"hello.localhost", b"rid", b"127.0.0.1",
        b"web.1", 0, 3, 200, 13,
    )  # fmt: skip
    assert line.endswith(b"\n")
    assert json.loads(line) == {
        "app": "hello",
        "line": 'at=info method=GET path="/" host=hello.localhost request_id=rid fwd="127.0.0.1" '
        "dyno=web.1 connect=0ms service=3ms status=200 bytes=13",
    }


def test_an_error_line_carries_the_code_and_description(impl):
    at = hotpath.error_at(codes.UNKNOWN_HOST)
    line = json.loads(
        impl["access_line"](
            b"null", at, b"GET", b"/", b"x.localhost", b"r", b"::1", b"", 0, 0, 404, 10
        )
    )
    assert line["app"] is None
    assert line["line"].startswith('at=error code=H43 desc="No such app" method=GET')


def test_a_path_that_could_break_the_line_is_escaped_and_cut(impl):
    for path in (b'/a"b\\c d', "/é".encode(), b"/\x00\r\n\xff", b"/" + b"\x7f" * 5000):
        line = impl["access_line"](
            b'"a"', hotpath.INFO, b"GET", path, b"h", b"r", b"f", b"web.1", 0, 0, 200, 0
        )
        logged = json.loads(line)["line"]
        assert f'path="{log_safe(path).decode()}"' in logged
        assert len(logged) < 6400


def test_the_upstream_head_adds_the_per_request_headers_last(impl):
    parts = [b"GET", b" ", b"/x", b" HTTP/1.1\r\n", b"Host", b"hello.localhost", b"Accept", b"*/*"]
    forwarded = b"X-Forwarded-For: 127.0.0.1\r\nVia: 1.1 twelve\r\n"
    head = impl["upstream_head"](
        parts, forwarded, b"hello.localhost", b"rid-1", 1700000000123, b"\r\n"
    )
    assert head == (
        b"GET /x HTTP/1.1\r\nHost: hello.localhost\r\nAccept: */*\r\n" + forwarded
        + b"X-Forwarded-Host: hello.localhost\r\nX-Request-Id: rid-1\r\n"
        b"X-Request-Start: 1700000000123\r\n\r\n"
    )  # fmt: skip


def test_the_version_is_read_off_a_whole_strict_request_line(impl):
    version = impl["line_version"]
    assert version(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n") == b"HTTP/1.1"
    assert version(b"GET /x HTTP/1.0\r\n") == b"HTTP/1.0"
    unsure_lines = (
        b"GET / HTTP/1.1", b"GET / HTTP/1.1\n", b"GET /\nX HTTP/1.1\r\n", b"a\r\n", b"",
        b"GET /HTTP/1.1\r\n", b"HTTP/1.1\r\n", b"XHTTP/1.1\r\n",
    )  # fmt: skip
    for unsure in unsure_lines:
        assert version(unsure) == b""  # the parser is asked instead


def test_header_names_are_classified_whatever_their_case(impl):
    table = impl["header_table"]({b"host": 1, b"x-request-id": 8, b"te": 6})
    kind = impl["header_kind"]
    assert [kind(n, table, 0) for n in (b"Host", b"HOST", b"host", b"X-Request-ID", b"TE")] == [
        1, 1, 1, 8, 6,
    ]  # fmt: skip
    for other in (b"Hos", b"Hostx", b"H\xc3st", b"Accept", b"", b"t\xc5"):
        assert kind(other, table, 0) == 0


def test_an_http_1_0_head_passes_only_with_a_length_and_no_hop_by_hop_header(impl):
    def passable(data: bytes) -> bool:
        return impl["plain_response"](data) is not None

    start = b"HTTP/1.0 200 OK\r\nServer: x\r\n"
    assert passable(start + b"content-LENGTH: 5\r\n\r\nhello")
    assert passable(start + b"Content-Length: 0\r\n\r\n")
    for unsure in (
        start + b"\r\nhello",  # the body ends when the app closes: re-framed
        start + b"Content-Length: 5\r\nKeep-Alive: timeout=5\r\n\r\n",
        start + b"Connection: close\r\nContent-Length: 5\r\n\r\n",
        start + b"Content-Length: 5\r\nTE: trailers\r\n\r\n",
        start + b"Content-Length : 5\r\n\r\n",  # not a bare name
        start + b"Content-Length: 5\nX: y\r\n\r\n",  # a bare LF
        start + b"Content-Length: 5\r\n",  # the head is not all there
        b"HTTP/1.0 200 OK\r\n\r\n",
    ):
        assert not passable(unsure)


def test_a_plain_response_says_where_it_ends(impl):
    read = impl["plain_response"]
    head = b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.7\r\ncontent-LENGTH: 5\r\n\r\n"
    assert read(head + b"hello") == (200, len(head) + 5)
    assert read(head) == (200, len(head) + 5)  # the body may follow in later reads
    assert read(b"HTTP/1.0 404\r\nContent-Length:\t 0 \r\n\r\n") == (404, 37)
    assert read(b"HTTP/1.0 302 Found\r\nLocation: /a\r\nContent-Length: 0\r\n\r\n")[0] == 302
    start = b"HTTP/1.0 200 OK\r\n"
    for unsure in (
        start + b"\r\nhello",  # the body ends when the app closes: re-framed
        start + b"Content-Length: 5\r\n",  # the head is not all there
        start + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        start + b"Content-Length: +5\r\n\r\nhello",
        start + b"Content-Length: 5 5\r\n\r\nhello",
        start + b"Content-Length: " + b"9" * 19 + b"\r\n\r\n",
        start + b"Content-Length: 5\r\nConnection: keep-alive\r\n\r\nhello",
        start + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        start + b"Content-Length : 5\r\n\r\nhello",  # not a bare name
        start + b"Content-Length: 5\r\n Folded: x\r\n\r\nhello",
        start + b"Content-Length: 5\nX: y\r\n\r\nhello",  # a bare LF
        start + b"Content-Length: 5\r\nX: \x00\r\n\r\nhello",
        start + b"Content-Length: 5\r\nX: caf\xc3\xa9\r\n\r\nhello",  # not ASCII: the parser's
        b"HTTP/1.0 204 No Content\r\nContent-Length: 5\r\n\r\n",  # no body, whatever it says
        b"HTTP/1.0 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.0 100 Continue\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.0 2000 OK\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.2 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/2.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    ):
        assert read(unsure) is None, unsure
    kept = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    assert read(kept) == (200, len(kept))


# Log fields and head pieces as a client could make them: any bytes, some around the length cut.
_FIELD = st.one_of(st.binary(max_size=80), st.binary(min_size=2040, max_size=2060))
_NUMBER = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.lists(_FIELD, min_size=8, max_size=8),
    numbers=st.lists(_NUMBER, min_size=4, max_size=4),
)
def test_the_c_build_writes_the_access_line_the_python_one_does(c_module, fields, numbers):
    assert c_module.access_line(*fields, *numbers) == hotpath.access_line_py(*fields, *numbers)


def test_the_upstream_head_wants_the_request_line_and_whole_pairs(impl):
    for parts in ([b"GET", b" ", b"/"], [b"GET", b" ", b"/", b" HTTP/1.1\r\n", b"Host"]):
        with pytest.raises(ValueError, match="name, value pairs"):
            impl["upstream_head"](parts, b"", b"h", b"r", 0, b"\r\n")


@settings(max_examples=300, deadline=None)
@given(
    parts=st.tuples(
        st.lists(st.binary(max_size=40), min_size=4, max_size=4),
        st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=40)), max_size=8),
    ).map(lambda line_and_pairs: line_and_pairs[0] + [x for p in line_and_pairs[1] for x in p]),
    fields=st.lists(st.binary(max_size=40), min_size=4, max_size=4),
    start_ms=_NUMBER,
)
def test_the_c_build_writes_the_upstream_head_the_python_one_does(
    c_module, parts, fields, start_ms
):
    forwarded, host, request_id, tail = fields
    args = (parts, forwarded, host, request_id, start_ms, tail)
    assert c_module.upstream_head(*args) == hotpath.upstream_head_py(*args)


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.sampled_from([b"GET / HTTP/1.1", b"/HTTP/1.1", b"\r", b"\n", b"\r\n", b"x", b" "])
    ).map(b"".join)
)
def test_the_c_build_reads_the_version_the_python_one_does(c_module, data):
    assert c_module.line_version(data) == hotpath.line_version_py(data)


def _some_upper(name: bytes, upper: list[bool]) -> bytes:
    """``name`` with the letters at the True places of ``upper`` made uppercase."""
    flags = upper + [False] * len(name)
    return bytes(c - 32 if 97 <= c <= 122 and flags[i] else c for i, c in enumerate(name))


_HEADER_NAME = st.one_of(
    st.builds(_some_upper, st.sampled_from(sorted(REQUEST_HEADERS)), st.lists(st.booleans())),
    st.binary(max_size=20),
)


@settings(max_examples=500, deadline=None)
@given(name=_HEADER_NAME)
def test_the_c_build_classifies_header_names_as_the_python_one_does(c_module, name):
    table = c_module.header_table(REQUEST_HEADERS)
    assert c_module.header_kind(name, table, -1) == hotpath.header_kind_py(
        name, REQUEST_HEADERS, -1
    )


_RESPONSE_LINE = st.one_of(
    st.builds(
        lambda name, upper, sep, value: _some_upper(name, upper) + sep + value,
        st.sampled_from(
            [b"content-length", b"connection", b"keep-alive", b"te", b"trailer", b"upgrade",
             b"transfer-encoding", b"proxy-connection", b"server", b"tee", b""]
        ),
        st.lists(st.booleans()),
        st.sampled_from([b": ", b":", b": ", b":", b" :", b"\t:", b""]),
        st.sampled_from([b"5", b"", b"5", b"a\rb", b"x\ny"]),
    ),
    st.binary(max_size=12),
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    lines=st.lists(_RESPONSE_LINE, max_size=6),
    # Mostly CRLF, so that many heads are sane enough to pass.
    ends=st.lists(st.sampled_from([b"\r\n"] * 8 + [b"\n", b"\r", b"\r\n\r\n"]), max_size=7),
    length=st.booleans(),
)
def test_the_c_build_decides_what_passes_as_the_python_one_does(c_module, lines, ends, length):
    # Each line after its own line end (CRLF where none was drawn), then the blank line.
    padded = ends + [b"\r\n"] * len(lines)
    joined = b"".join(end + line for line, end in zip(lines, padded, strict=False))
    data = b"HTTP/1.0 200 OK" + joined + (b"\r\nContent-Length: 4" if length else b"")
    data += b"\r\n\r\nbody"
    assert c_module.plain_response(data) == hotpath.plain_response_py(data)


_VISIBLE = st.text(alphabet=[chr(c) for c in range(0x20, 0x7F)] + ["\t"], max_size=10)
_SANE_LINE = st.builds(
    lambda name, value: name + b": " + value.encode(),
    st.sampled_from([b"Server", b"Date", b"Content-Type", b"Set-Cookie", b"X-A!#$%&'*+-.^_`|~"]),
    _VISIBLE,
)
_PLAIN_LINE = st.one_of(
    *[_SANE_LINE] * 6,
    _RESPONSE_LINE,
    st.builds(
        lambda name, sep, value: name + sep + value,
        st.sampled_from([b"Content-Length", b"content-length", b"Content-length"]),
        st.sampled_from([b":", b": ", b":\t", b": \t "]),
        st.one_of(
            st.sampled_from([b"0", b"5", b"007", b"5 ", b" 5", b"-5", b"+5", b"5,5", b"1e3"]),
            st.binary(max_size=8),
        ),
    ),
)
_STATUS_LINE = st.one_of(
    *[st.sampled_from([b"HTTP/1.0 200 OK", b"HTTP/1.0 200", b"HTTP/1.1 404 Not Found"])] * 4,
    st.sampled_from(
        [b"HTTP/1.0 200 ", b"HTTP/1.0 204 No Content", b"HTTP/1.0 304 x", b"HTTP/1.0 101 x",
         b"HTTP/1.0 599 x", b"HTTP/1.0 600 x", b"HTTP/1.0 20 OK", b"HTTP/1.0 2000",
         b"HTTP/1.0 200 \tOK", b"HTTP/1.0 200 caf\xc3\xa9", b"HTTP/1.1 200 OK",
         b"HTTP/1.1 304 x", b"HTTP/1.1 100 x", b"HTTP/1.2 200 OK", b"HTTP/1.0  200 OK"]
    ),
    st.binary(max_size=16).map(lambda tail: b"HTTP/1.0 " + tail),
)  # fmt: skip
# Heads that are mostly sane, with one Content-Length most of the time, so that many are taken.
_PLAIN_HEAD = st.builds(
    lambda status, lines, length, at, ends: _plain_head(
        status,
        lines[:at] + ([b"Content-Length: %d" % length] if length >= 0 else []) + lines[at:],
        ends,
    ),
    _STATUS_LINE,
    st.lists(_PLAIN_LINE, max_size=4),
    st.one_of(*[st.integers(min_value=0, max_value=20)] * 9, st.just(-1)),
    st.integers(min_value=0, max_value=4),
    st.lists(st.sampled_from([b"\r\n"] * 20 + [b"\n", b"\r"]), max_size=6),
)


def _plain_head(status: bytes, lines: list[bytes], ends: list[bytes]) -> bytes:
    padded = ends + [b"\r\n"] * len(lines)
    return status + b"".join(end + line for line, end in zip(lines, padded, strict=False))


@settings(max_examples=1000, deadline=None)
@given(head=_PLAIN_HEAD, body=st.binary(max_size=12))
def test_the_c_build_reads_plain_responses_as_the_python_one_does(c_module, head, body):
    data = head + b"\r\n\r\n" + body
    assert c_module.plain_response(data) == hotpath.plain_response_py(data)


class _Ends:
    """Records where llhttp finds a response's head and message complete."""

    def __init__(self) -> None:
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.parser: Any = None

    def on_headers_complete(self) -> None:
        self.headers_done = True
        # Asked here, as the framer asks: once the message is complete llhttp has forgotten.
        self.keep_alive = self.parser.should_keep_alive()

    def on_message_complete(self) -> None:
        self.complete = True


@settings(max_examples=1000, deadline=None)
@given(head=_PLAIN_HEAD, body=st.binary(max_size=12))
def test_a_response_read_without_a_parser_is_one_llhttp_reads_the_same(head, body):
    """Whatever ``plain_response`` takes, llhttp takes too, with the same status and end: the
    fast path never passes on a response the parser would have refused or framed otherwise."""
    data = head + b"\r\n\r\n" + body
    found = hotpath.plain_response_py(data)
    if found is None:
        return
    code, end = found
    whole = data[:end] + b"\x00" * max(0, end - len(data))  # the body as long as it says
    ends_seen = _Ends()
    parser = ends_seen.parser = httptools.HttpResponseParser(ends_seen)
    parser.feed_data(whole[:-1] if end > whole.index(b"\r\n\r\n") + 4 else whole)
    assert ends_seen.headers_done
    assert parser.get_status_code() == code
    assert ends_seen.keep_alive == data.startswith(b"HTTP/1.1")
    if end > whole.index(b"\r\n\r\n") + 4:
        assert not ends_seen.complete  # one byte short of its end
        parser.feed_data(whole[-1:])
    assert ends_seen.complete
