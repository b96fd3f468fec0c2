"""What a hostile client cannot make the router do: smuggle a request past it, hold a worker,
or reach an app with a request other than the one the router read (docs/router.md, "What the
router refuses"). The app here reads what it receives with h11, a parser of its own."""

from __future__ import annotations

import socket
import time

import h11
import pytest

from integration.router.rawapp import Answer, Received

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
HOST = b"Host: hello.localhost\r\n"


def ok(_: Received) -> Answer:
    return Answer([OK])


class Replies:
    """Responses read off a client socket by h11, in turn (pipelined ones too), each given back
    as the bytes of its head and body."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.parser = h11.Connection(h11.CLIENT)

    def next(self, method: bytes = b"GET") -> bytes:
        parser = self.parser
        if parser.our_state is h11.DONE:
            parser.start_next_cycle()
        parser.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        parser.send(h11.EndOfMessage())
        out = b""
        while True:
            event = parser.next_event()
            if event is h11.NEED_DATA:
                parser.receive_data(self.sock.recv(65536))
            elif isinstance(event, h11.Response):
                out = b"HTTP/1.1 %d %b\r\n" % (event.status_code, event.reason)
                out += b"".join(b"%b: %b\r\n" % pair for pair in event.headers) + b"\r\n"
            elif isinstance(event, h11.Data):
                out += event.data
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return out


def read_response(sock: socket.socket) -> bytes:
    """One response, read off ``sock`` (see ``Replies``)."""
    return Replies(sock).next()


@pytest.mark.parametrize("named", [b"content-length", b"Host", b"transfer-encoding"])
def test_a_connection_header_naming_framing_or_host_is_refused_and_nothing_is_smuggled(
    raw_apps, router, named
):
    """The attack: ``Connection: content-length`` once made the router drop the length but
    forward the body, which the app read as a second request on a pooled connection, and the
    next visitor's request became that one's body. Now the request is refused, and the next
    visitor's request reaches the app alone, as itself."""
    app = raw_apps("web.1", ok)
    r = router({"hello": {"backends": [app.route()]}})
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: hello.localhost\r\nX-Forwarded-For: 6.6.6.6\r\n"
    attack = (
        b"POST / HTTP/1.1\r\n" + HOST + b"Connection: " + named + b"\r\n"
        b"Content-Length: %d\r\n\r\n" % len(smuggled) + smuggled
    )
    answer = r.raw(attack)
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert b"H40" in answer
    status, _, body = r.request("hello.localhost", "/visitor", headers={"Cookie": "secret=1"})
    assert (status, body) == (200, b"ok")
    assert [(q.method, q.target, q.header(b"cookie")) for q in app.requests] == [
        (b"GET", b"/visitor", [b"secret=1"])
    ]
    assert all(not q.followed for q in app.requests)


def test_other_headers_a_connection_header_names_stop_at_the_router(raw_apps, router):
    app = raw_apps("web.1", ok)
    r = router({"hello": {"backends": [app.route()]}})
    answer = r.raw(
        b"GET / HTTP/1.1\r\n" + HOST + b"Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\n"
        b"X-Kept: 2\r\nContent-Length: 0\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200 ")
    (seen,) = app.requests
    assert seen.header(b"x-secret") == [] and seen.header(b"x-kept") == [b"2"]
    assert seen.header(b"host") == [b"hello.localhost"]


def test_bytes_after_an_upgrade_the_app_declines_never_reach_it(raw_apps, router):
    """A client's bytes after an upgrade request are held until the app switches protocols; an
    app that answers 200 instead never sees them, so they cannot pass as a request the router
    did not read."""
    app = raw_apps("web.1", ok)
    r = router({"hello": {"backends": [app.route()]}})
    answer = r.raw(
        b"GET /ws HTTP/1.1\r\n" + HOST + b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        b"GET /smuggled HTTP/1.1\r\n" + HOST + b"X-Forwarded-Proto: https\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert [q.target for q in app.requests] == [b"/ws"]
    assert all(
        not q.followed and not c.raw.endswith(b"smuggled")
        for q in app.requests
        for c in app.connections
    )
    assert all(b"/smuggled" not in c.raw for c in app.connections)


def test_bytes_sent_before_the_switch_reach_the_app_after_it(backends, router):
    """A client that talks the new protocol before the 101 arrives loses nothing."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    with socket.create_connection((r.host, r.port), timeout=10) as sock:
        sock.sendall(
            b"GET /ws HTTP/1.1\r\n" + HOST + b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
            b"early"
        )
        data = b""
        while not data.endswith(b"EARLY"):
            piece = sock.recv(65536)
            assert piece, data
            data += piece
    assert data.startswith(b"HTTP/1.1 101 ")


def test_a_huge_chunked_trailer_is_refused_before_it_costs_memory(raw_apps, router):
    app = raw_apps("web.1", ok)
    r = router({"hello": {"backends": [app.route()]}})
    with socket.create_connection((r.host, r.port), timeout=10) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n"
            b"2\r\nhi\r\n0\r\nX-Trailer: "
        )
        answer = b""
        try:
            for _ in range(256):  # up to 8 MiB of one trailer value, 32 KiB a write
                sock.sendall(b"a" * 32768)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while piece := sock.recv(65536):
                answer += piece
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert r.request("hello.localhost")[0] == 200  # the worker serves on


@pytest.mark.parametrize(
    ("coding", "status", "code"),
    [(b"gzip, chunked", b"501", b"H45"), (b"chunked, gzip", b"400", b"H40")],
)
def test_transfer_codings_other_than_chunked_alone_are_refused(
    raw_apps, router, coding, status, code
):
    app = raw_apps("web.1", ok)
    r = router({"hello": {"backends": [app.route()]}})
    answer = r.raw(
        b"POST / HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: " + coding + b"\r\n\r\n"
        b"2\r\nhi\r\n0\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 " + status + b" "), answer
    assert code in answer
    assert app.requests == []


def test_no_space_before_the_version_is_not_http_1_1(raw_apps, router):
    app = raw_apps("web.1", ok)
    r = router({"hello": {"backends": [app.route()]}})
    answer = r.raw(b"GET /HTTP/1.1\r\n" + HOST + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 505 "), answer
    assert app.requests == []


def test_a_later_http_1_minor_version_is_served_as_1_1(raw_apps, router):
    app = raw_apps("web.1", ok)
    r = router({"hello": {"backends": [app.route()]}})
    answer = r.raw(b"GET / HTTP/1.2\r\n" + HOST + b"Connection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert r.raw(b"GET / HTTP/3.0\r\n" + HOST + b"\r\n").startswith(b"HTTP/1.1 505 ")


def test_an_absolute_form_target_routes_and_reaches_the_app_with_its_own_host(raw_apps, router):
    hello = raw_apps("web.1", ok)
    other = raw_apps("web.1", ok)
    r = router({"hello": {"backends": [hello.route()]}, "other": {"backends": [other.route()]}})
    answer = r.raw(
        b"GET http://other.localhost/x?y=1 HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert hello.requests == []
    (seen,) = other.requests
    assert seen.target == b"/x?y=1"
    assert seen.header(b"host") == [b"other.localhost"]
    assert seen.header(b"x-forwarded-host") == [b"other.localhost"]


@pytest.mark.parametrize(
    "request_line_and_host",
    [
        b"GET / HTTP/1.1\r\nHost: hello.localhost:@evil.example/x?\r\n",
        b"GET / HTTP/1.1\r\nHost: hello.localhost/x\r\n",
        b"GET / HTTP/1.1\r\nHost: hello.localhost%2fx\r\n",
        b"GET http://user@hello.localhost/ HTTP/1.1\r\n" + HOST,
        b"GET http://hello.localhost@evil.example/ HTTP/1.1\r\n" + HOST,
    ],
)
def test_an_invalid_host_is_refused_not_routed_by_its_start(
    raw_apps, router, request_line_and_host
):
    app = raw_apps("web.1", ok)
    r = router({"hello": {"backends": [app.route()]}})
    answer = r.raw(request_line_and_host + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert app.requests == []


def test_a_post_the_app_closed_on_unanswered_is_not_sent_again_even_on_a_reused_connection(
    raw_apps, router
):
    def script(request: Received) -> Answer:
        if request.method == b"POST":
            return Answer([], close=True)  # acted on, perhaps, but never answered
        return Answer([OK])

    app = raw_apps("web.1", script)
    r = router({"hello": {"backends": [app.route()]}})
    with socket.create_connection((r.host, r.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
        assert read_response(sock).endswith(b"ok")
        sock.sendall(b"POST /pay HTTP/1.1\r\n" + HOST + b"Content-Length: 0\r\n\r\n")
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 502 ") and b"H13" in answer
    assert [q.method for q in app.requests] == [b"GET", b"POST"]


def test_a_request_head_sent_a_byte_at_a_time_gets_408_at_the_head_deadline(raw_apps, router):
    app = raw_apps("web.1", ok)
    r = router({"hello": {"backends": [app.route()]}}, router_header_timeout="1")
    head = b"GET / HTTP/1.1\r\n" + HOST + b"X-Slow: " + b"a" * 200
    began = time.monotonic()
    answer = b""
    with socket.create_connection((r.host, r.port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for byte in head:  # well inside the idle timeout each time
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
                if time.monotonic() - began > 8:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        try:
            while piece := sock.recv(65536):
                answer += piece
        except ConnectionResetError:
            pass
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"H28" in answer
    assert app.requests == []


def test_connections_from_one_address_past_the_cap_are_closed(raw_apps, router):
    app = raw_apps("web.1", ok)
    r = router({"hello": {"backends": [app.route()]}}, router_max_client_connections="3")
    held = [socket.create_connection((r.host, r.port), timeout=10) for _ in range(3)]
    try:
        for sock in held:  # each admitted: it is answered
            sock.sendall(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
            assert read_response(sock).endswith(b"ok")
        with socket.create_connection((r.host, r.port), timeout=10) as extra:
            try:
                extra.sendall(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
                closed = extra.recv(65536) == b""
            except ConnectionResetError:
                closed = True
            assert closed
        held.pop().close()
        deadline = time.monotonic() + 10
        while True:  # the closed one's place is free again, once the router has seen it go
            with socket.create_connection((r.host, r.port), timeout=10) as again:
                try:
                    again.sendall(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
                    if read_response(again).endswith(b"ok"):
                        break
                except ConnectionResetError:
                    pass
            assert time.monotonic() < deadline, "a place never came free"
            time.sleep(0.05)
    finally:
        for sock in held:
            sock.close()


def test_a_good_request_before_a_malformed_one_is_answered_first(raw_apps, router):
    app = raw_apps("web.1", ok)
    r = router({"hello": {"backends": [app.route()]}})
    answer = r.raw(b"GET /good HTTP/1.1\r\n" + HOST + b"\r\nGET / HTTP/1.1\r\nHost : bad\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert b"\r\n\r\nokHTTP/1.1 400 " in answer
    assert [q.target for q in app.requests] == [b"/good"]
