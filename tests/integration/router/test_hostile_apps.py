"""What a hostile or broken app cannot make the router do: answer another request (or another
app's client) with bytes it sent past a response, stall a worker with a huge head, or pass on
what is not an HTTP response (docs/router.md, "What the router refuses")."""

from __future__ import annotations

import socket
import time

import pytest

from integration.router.rawapp import Answer, Received
from integration.router.test_hostile_clients import HOST, OK, Replies

INJECTED = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"

# Responses that are not plain, each followed by an injected response in the same write.
NOT_PLAIN = [
    pytest.param(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", id="chunked"
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
        id="hop-by-hop-header",
    ),
    pytest.param(b"HTTP/1.1 204 No Content\r\n\r\n", id="no-content"),
]


def two_responses(r, second_host: bytes, pause: float = 0.0) -> list[bytes]:
    """Two requests on one connection (the second to ``second_host``), pipelined, or the
    second sent ``pause`` seconds after the first's response: both responses."""
    first_request = b"GET / HTTP/1.1\r\n" + HOST + b"\r\n"
    second_request = b"GET /second HTTP/1.1\r\nHost: " + second_host + b"\r\n\r\n"
    with socket.create_connection((r.host, r.port), timeout=10) as sock:
        replies = Replies(sock)
        if pause:
            sock.sendall(first_request)
            first = replies.next()
            time.sleep(pause)
            sock.sendall(second_request)
            return [first, replies.next()]
        sock.sendall(first_request + second_request)
        return [replies.next(), replies.next()]


def second_app(raw_apps):
    return raw_apps(
        "web.1", lambda _: Answer([b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"])
    )


@pytest.mark.parametrize("response", NOT_PLAIN)
@pytest.mark.parametrize("where", ["same-write", "later-write"])
def test_bytes_an_app_sends_past_its_response_never_reach_another_apps_client(
    raw_apps, router, response, where
):
    """A client pipelining a request to one app and one to another gets each app's own answer,
    whatever the first app sends after its response."""
    pieces = [response + INJECTED] if where == "same-write" else [response, INJECTED]
    hostile = raw_apps("web.1", lambda _: Answer(pieces))
    other = second_app(raw_apps)
    r = router({"hello": {"backends": [hostile.route()]}, "other": {"backends": [other.route()]}})
    first, second = two_responses(r, b"other.localhost")
    assert first.startswith(b"HTTP/1.1 20")
    assert b"evil" not in first
    assert second.endswith(b"second"), second


@pytest.mark.parametrize("response", NOT_PLAIN)
@pytest.mark.parametrize("where", ["same-write", "later-write"])
def test_a_connection_that_carried_bytes_past_a_response_is_not_used_again(
    raw_apps, router, response, where
):
    def script(request: Received) -> Answer:
        if request.target == b"/second":
            return Answer([b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"])
        return Answer([response + INJECTED] if where == "same-write" else [response, INJECTED])

    app = raw_apps("web.1", script)
    r = router({"hello": {"backends": [app.route()]}})
    first, second = two_responses(r, b"hello.localhost", pause=0.3)
    assert b"evil" not in first
    assert second.endswith(b"second"), second
    assert [len(c.requests) for c in app.connections] == [1, 1]


def test_bytes_past_a_head_response_are_not_a_response_to_the_next_request(raw_apps, router):
    def script(request: Received) -> Answer:
        if request.method == b"HEAD":
            return Answer([b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n" + INJECTED])
        return Answer([b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"])

    app = raw_apps("web.1", script)
    r = router({"hello": {"backends": [app.route()]}})
    with socket.create_connection((r.host, r.port), timeout=10) as sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\n" + HOST + b"\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200 ") and head.endswith(b"\r\n\r\n")
        sock.sendall(b"GET /second HTTP/1.1\r\n" + HOST + b"\r\n")
        assert Replies(sock).next().endswith(b"second")


@pytest.mark.parametrize("pieces", [1, 64], ids=["one-write", "many-writes"])
def test_a_response_head_over_the_limit_gets_502(raw_apps, router, pieces):
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * 40_000 + b"\r\nContent-Length: 2\r\n\r\nok"
    size = -(-len(head) // pieces)
    app = raw_apps(
        "web.1",
        lambda _: Answer([head[i : i + size] for i in range(0, len(head), size)], pause=0.005),
    )
    r = router({"hello": {"backends": [app.route()]}})
    status, headers, _ = r.request("hello.localhost")
    assert status == 502
    assert headers["x-twelve-error"] == "H17"


def test_a_response_head_under_the_limit_passes(raw_apps, router):
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * 20_000 + b"\r\nContent-Length: 2\r\n\r\nok"
    app = raw_apps(
        "web.1",
        lambda _: Answer([head[i : i + 1000] for i in range(0, len(head), 1000)], pause=0.002),
    )
    r = router({"hello": {"backends": [app.route()]}})
    status, headers, body = r.request("hello.localhost")
    assert (status, body, len(headers["x-big"])) == (200, b"ok", 20_000)


@pytest.mark.parametrize("cut", [19, 21, 25, 30], ids=lambda c: f"cut-at-{c}")
def test_a_head_split_anywhere_reaches_the_client_whole(raw_apps, router, cut):
    """Split inside the status line, a header name or a value: one response, as the app sent."""
    response = b"HTTP/1.1 200 OK\r\nX-Custom-Name: value\r\nContent-Length: 2\r\n\r\nok"
    app = raw_apps("web.1", lambda _: Answer([response[:cut], response[cut:]], pause=0.05))
    r = router({"hello": {"backends": [app.route()]}})
    status, headers, body = r.request("hello.localhost")
    assert (status, headers.get("x-custom-name"), body) == (200, "value", b"ok")


def test_a_switch_of_protocols_nobody_asked_for_gets_502_at_once(raw_apps, router):
    switch = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n"
    app = raw_apps("web.1", lambda _: Answer([switch]))
    r = router({"hello": {"backends": [app.route()]}})
    status, headers, _ = r.request("hello.localhost")
    assert (status, headers["x-twelve-error"]) == (502, "H17")
    assert len(app.requests) == 1  # not sent again
    line = r.access_line("status=502")
    assert "H17" in line["line"]
    assert not [e for e in r.seen if "Traceback" in str(e) or e.get("event") == "unparsed"]


@pytest.mark.parametrize("status_code", [b"099", b"600", b"999"])
def test_a_status_outside_100_to_599_gets_502(raw_apps, router, status_code):
    response = (
        b"HTTP/1.1 "
        + status_code
        + b" Odd\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"
    )
    app = raw_apps("web.1", lambda _: Answer([response]))
    r = router({"hello": {"backends": [app.route()]}})
    status, headers, _ = r.request("hello.localhost")
    assert (status, headers["x-twelve-error"]) == (502, "H17")


def test_an_ok_response_after_these_still_passes(raw_apps, router):
    app = raw_apps("web.1", lambda _: Answer([OK]))
    r = router({"hello": {"backends": [app.route()]}})
    assert two_responses(r, b"hello.localhost")[1].endswith(b"ok")
