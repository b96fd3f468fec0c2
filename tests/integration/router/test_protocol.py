"""HTTP/1.1 through the router: strict parsing, limits, bodies, keep-alive, upgrades, timeouts."""

from __future__ import annotations

import json
import re
import socket
from urllib.parse import quote

import pytest

SMUGGLING = [
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        id="content-length-and-chunked",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: 3\r\n"
        b"Content-Length: 5\r\n\r\nabcde",
        id="two-content-lengths",
    ),
    pytest.param(
        b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nTransfer-Encoding: gzip\r\n\r\nabc",
        id="unknown-transfer-coding",
    ),
    pytest.param(b"GET / HTTP/1.1\r\nHost: hello.localhost\r\n folded\r\n\r\n", id="obs-fold"),
    pytest.param(b"GET / HTTP/1.1\nHost: hello.localhost\n\n", id="bare-newlines"),
    pytest.param(b"GET / HTTP/1.1\r\nHost : hello.localhost\r\n\r\n", id="space-before-colon"),
    pytest.param(
        b"GET / HTTP/1.1\r\nHost: hello.localhost\r\nHost: other.localhost\r\n\r\n",
        id="two-hosts",
    ),
    pytest.param(b"GET / HTTP/1.1\r\n\r\n", id="no-host"),
    pytest.param(b"GET / HTTP/2.0\r\nHost: hello.localhost\r\n\r\n", id="http-2-text"),
    pytest.param(b"CONNECT hello.localhost:80 HTTP/1.1\r\nHost: x\r\n\r\n", id="connect"),
]


@pytest.mark.parametrize("request_bytes", SMUGGLING)
def test_ambiguous_or_malformed_requests_get_400_and_are_never_forwarded(
    backends, router, request_bytes
):
    """Request smuggling shapes are refused at the router; the app never sees a byte."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    answer = r.raw(request_bytes)
    assert answer.split(b"\r\n", 1)[0] in (
        b"HTTP/1.1 400 Bad Request",
        b"HTTP/1.1 505 HTTP Version Not Supported",
    )
    assert b"Connection: close" in answer
    assert hello.requests == []


def test_headers_over_the_limit_get_431(backends, router):
    """TWELVE_ROUTER_MAX_HEADER_BYTES bounds the request head: 431 and H41."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}}, router_max_header_bytes="2K")
    status, _, _ = r.request("hello.localhost", headers={"X-Small": "a" * 1000})
    assert status == 200
    status, headers, _body = r.request("hello.localhost", headers={"X-Big": "a" * 3000})
    assert status == 431
    assert headers["x-twelve-error"] == "H41"
    assert len(hello.requests) == 1
    assert "code=H41" in r.access_line("status=431")["line"]


def test_body_over_the_limit_gets_413_whether_declared_or_chunked(backends, router):
    """TWELVE_ROUTER_MAX_BODY_BYTES: a declared length over it, or a chunked body growing past it."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}}, router_max_body_bytes="1K")
    status, headers, _ = r.request("hello.localhost", method="POST", body=b"x" * 2000)
    assert status == 413
    assert headers["x-twelve-error"] == "H42"
    chunks = b"".join(b"100\r\n" + b"y" * 256 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
    answer = r.raw(
        b"POST / HTTP/1.1\r\nHost: hello.localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
    )
    assert answer.startswith(b"HTTP/1.1 413 ")
    status, _, body = r.request("hello.localhost", method="POST", body=b"z" * 1000)
    assert status == 200
    assert json.loads(body)["body"] == "z" * 1000


def test_chunked_request_body_reaches_the_app_whole(backends, router):
    """A streamed (chunked) upload arrives at the app as the same bytes."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    pieces = [b"first,", b"second,", b"third"]
    conn = r.connect()
    try:
        conn.request(
            "POST",
            "/upload",
            body=iter(pieces),
            headers={"Host": "hello.localhost"},
            encode_chunked=True,
        )
        response = conn.getresponse()
        seen = json.loads(response.read())
    finally:
        conn.close()
    assert seen["body"] == "first,second,third"
    assert seen["headers"]["transfer-encoding"] == "chunked"


def test_streamed_responses_reach_the_client_whole(backends, router):
    """Chunked responses and bodies ended by closing the connection both arrive complete."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    status, headers, body = r.request("hello.localhost", "/chunked")
    assert (status, body) == (200, b"one,two,three")
    assert headers["transfer-encoding"] == "chunked"
    status, _, body = r.request("hello.localhost", "/until-close")
    assert (status, body) == (200, b"body ended by close")


def test_keep_alive_on_both_sides(backends, router):
    """Many requests on one client connection reuse one connection to the app."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    conn = r.connect()
    try:
        for i in range(5):
            conn.request("GET", f"/{i}", headers={"Host": "hello.localhost"})
            response = conn.getresponse()
            assert response.status == 200
            response.read()
        conn.request("HEAD", "/head", headers={"Host": "hello.localhost"})
        response = conn.getresponse()
        assert response.status == 200
        assert response.read() == b""
        conn.request("POST", "/after-head", body=b"still fine", headers={"Host": "hello.localhost"})
        assert json.loads(conn.getresponse().read())["body"] == "still fine"
    finally:
        conn.close()
    assert len({req["peer_port"] for req in hello.requests}) == 1
    assert [req["path"] for req in hello.requests][-2:] == ["/head", "/after-head"]


def test_pipelined_requests_are_answered_in_order(backends, router):
    """Several requests sent at once on one connection get their responses in order."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    requests = b"".join(
        b"GET /%d HTTP/1.1\r\nHost: %s\r\n\r\n"
        % (i, b"nope.localhost" if i == 1 else b"hello.localhost")
        for i in range(3)
    )
    answer = r.raw(
        requests + b"GET /last HTTP/1.1\r\nHost: hello.localhost\r\nConnection: close\r\n\r\n"
    )
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)
    assert statuses == [b"200", b"404", b"200", b"200"]
    assert answer.index(b'"/0"') < answer.index(b'"/2"') < answer.index(b'"/last"')


def test_websocket_upgrade_is_tunnelled(backends, router):
    """An Upgrade request gets the app's 101; then bytes flow both ways untouched."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    with socket.create_connection((r.host, r.port), timeout=10) as sock:
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: hello.localhost\r\nConnection: Upgrade\r\n"
            b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 101 ")
        assert b"Upgrade: websocket" in head
        for word in (b"ping", b"hello there"):
            sock.sendall(word)
            got = b""
            while len(got) < len(word):
                got += sock.recv(4096)
            assert got == word.upper()
    assert "status=101" in r.access_line('path="/ws"')["line"]


def test_no_first_byte_in_time_gets_504_h12(backends, router):
    """An app slower than TWELVE_ROUTER_RESPONSE_TIMEOUT: 504 with H12; the router keeps serving."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}}, router_response_timeout="0.3")
    status, _headers, body = r.request("hello.localhost", "/?sleep=2")
    assert status == 504
    assert b"H12: Request timeout" in body
    assert "code=H12" in r.access_line("status=504")["line"]
    assert r.request("hello.localhost")[0] == 200


def test_a_response_that_is_not_http_gets_502_h17(backends, router):
    """The app answers garbage: the client gets 502 with H17, not the garbage."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    status, _, body = r.request("hello.localhost", "/garbage")
    assert status == 502
    assert b"H17" in body


def test_http_1_0_clients_are_served(backends, router):
    """An HTTP/1.0 request is answered and the connection closed."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    answer = r.raw(b"GET /old HTTP/1.0\r\nHost: hello.localhost\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b'"/old"' in answer
    answer = r.raw(b"GET /chunked HTTP/1.0\r\nHost: hello.localhost\r\n\r\n")
    assert answer.endswith(b"\r\n\r\none,two,three")


def _response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length, or what came before the connection closed."""
    data = b""
    while b"\r\n\r\n" not in data or len(data) < _framed_size(data):
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    return data


def _framed_size(data: bytes) -> int:
    head, _, _ = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    return len(head) + 4 + int(length.group(1) if length else 0)


@pytest.mark.parametrize(
    ("first", "kept"),
    [
        pytest.param(b"GET /1 HTTP/1.1\r\n", True, id="http-1.1"),
        pytest.param(b"GET /1 HTTP/1.1\r\nConnection: close\r\n", False, id="connection-close"),
        pytest.param(b"GET /1 HTTP/1.1\r\nProxy-Connection: close\r\n", False, id="proxy-close"),
        pytest.param(b"GET /1 HTTP/1.0\r\n", False, id="http-1.0"),
        pytest.param(b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n", True, id="1.0-keep-alive"),
    ],
)
def test_the_connection_is_kept_or_closed_as_the_request_asks(backends, router, first, kept):
    """After the first response the router either serves a second request or closes."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    host = b"Host: hello.localhost\r\n\r\n"
    with socket.create_connection((r.host, r.port), timeout=10) as sock:
        sock.sendall(first + host)
        assert _response(sock).startswith(b"HTTP/1.1 200 ")
        if kept:
            sock.sendall(b"GET /2 HTTP/1.1\r\n" + host)
            assert _response(sock).startswith(b"HTTP/1.1 200 ")
        else:
            assert sock.recv(65536) == b""  # closed by the router, nothing more to read
    assert [req["path"] for req in hello.requests] == ["/1", "/2"][: 2 if kept else 1]


@pytest.mark.parametrize(
    ("query", "framing"),
    [
        pytest.param("", b"Content-Length: 23\r\n", id="content-length"),
        pytest.param(
            "?header=" + quote("Keep-Alive: timeout=5|X-Kept: yes"),
            b"Content-Length: 23\r\n",
            id="hop-by-hop-header",
        ),
        pytest.param("?length=0", b"Transfer-Encoding: chunked\r\n", id="ended-by-close"),
        pytest.param("?pieces=1", b"Content-Length: 23\r\n", id="body-in-pieces"),
        # Past its Content-Length: dropped, as nginx drops it; the client connection stays sane.
        pytest.param("?extra=junk", b"Content-Length: 23\r\n", id="bytes-past-the-length"),
        pytest.param(
            "?extra=junk&header=" + quote("Keep-Alive: timeout=5"),
            b"Content-Length: 23\r\n",
            id="hop-by-hop-header-and-bytes-past-the-length",
        ),
    ],
)
def test_an_http_1_0_app_is_answered_over_kept_alive_http_1_1(backends, router, query, framing):
    """Its version becomes the router's, its hop-by-hop headers stop, the client keeps its
    connection; a body that ends when the app closes is re-framed as chunks."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    request = b"GET /http10%b HTTP/1.1\r\nHost: hello.localhost\r\n\r\n" % query.encode()
    with socket.create_connection((r.host, r.port), timeout=10) as sock:
        for _ in range(2):  # the same client connection serves both
            sock.sendall(request)
            answer = _response(sock) if b"Length" in framing else _chunked_response(sock)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            assert framing in head + b"\r\n"
            assert b"eep-Alive" not in head and b"Connection:" not in head
            assert b"from an HTTP/1.0 server" in body
            assert b"junk" not in body
            if "X-Kept" in query:
                assert b"\r\nX-Kept: yes" in head
    assert len(hello.requests) == 2


@pytest.mark.parametrize(
    "query", [pytest.param("", id="one-read"), pytest.param("?pieces=1", id="end-in-a-later-read")]
)
def test_bytes_past_the_length_of_a_response_the_parser_reads_are_dropped(backends, router, query):
    """As on the plain path: the response passes, the extra bytes do not, and the connection
    that carried them is not used again (before, the client got 502 H17, or, when the head came
    in an earlier read, a response cut short)."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    request = b"GET /keep-alive-extra%b HTTP/1.1\r\nHost: hello.localhost\r\n\r\n" % query.encode()
    with socket.create_connection((r.host, r.port), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(request)
            head, _, body = _response(sock).partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 OK\r\n")
            assert body == b"ok"
    ports = {record["peer_port"] for record in hello.requests}
    assert len(hello.requests) == 2 and len(ports) == 2  # a new connection for the second


@pytest.mark.parametrize(
    ("start", "held"),
    [pytest.param(0, True, id="head-alone-is-held"), pytest.param(3000, False, id="large-start")],
)
def test_a_response_head_written_before_its_body_reaches_the_client_with_it(
    backends, router, start, held
):
    """An app that writes its head, then its body, is answered in one write, as nginx answers:
    the client is woken once, not twice. A start of 1,460 bytes or more goes out at once."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    request = b"GET /held?start=%d HTTP/1.1\r\nHost: hello.localhost\r\n\r\n" % start
    with socket.create_connection((r.host, r.port), timeout=10) as sock:
        sock.sendall(request)
        if held:
            sock.settimeout(0.5)  # the app wrote its head at once: nothing of it may come yet
            with pytest.raises(TimeoutError):
                sock.recv(65536)
            assert len(hello.requests) == 1
        else:
            first = sock.recv(65536)
            assert first.startswith(b"HTTP/1.1 200 OK\r\n")
        sock.settimeout(10)
        hello.server.release.set()
        if held:
            first = sock.recv(65536)  # the whole response, in one piece
            assert first.startswith(b"HTTP/1.1 200 OK\r\n")
            assert first.endswith(b"\r\n\r\n0123456789")
        else:
            while len(first) < _framed_size(first):
                piece = sock.recv(65536)
                assert piece, "the router closed before the end of the body"
                first += piece
            assert first.partition(b"\r\n\r\n")[2] == b"b" * start + b"0123456789"


def _chunked_response(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n0\r\n\r\n"):
        piece = sock.recv(65536)
        assert piece, "the router closed before the last chunk"
        data += piece
    return data


def test_bytes_after_a_request_that_closes_are_dropped_and_its_response_still_comes(
    backends, router
):
    """As nginx does: what follows ``Connection: close`` or an HTTP/1.0 request is not a request."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    host = b"Host: hello.localhost\r\n"
    for first in (b"GET /1 HTTP/1.1\r\nConnection: close\r\n", b"GET /1 HTTP/1.0\r\n"):
        answer = r.raw(first + host + b"\r\nGET /2 HTTP/1.1\r\n" + host + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 200 ")
        assert b'"/1"' in answer
        assert b"HTTP/1.1 400" not in answer
    assert [req["path"] for req in hello.requests] == ["/1", "/1"]


def test_a_dropped_idempotent_request_is_sent_again_but_a_post_is_not(backends, router):
    """The app closes without answering: a GET is resent and succeeds; a POST gets 502 H13."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    status, _, body = r.request("hello.localhost", "/drop-once")
    assert status == 200
    assert json.loads(body)["path"] == "/drop-once"
    status, _, body = r.request("hello.localhost", "/drop-once", method="POST", body=b"once")
    assert status == 502
    assert b"H13" in body
