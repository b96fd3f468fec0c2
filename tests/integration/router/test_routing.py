"""Routing by Host, round robin (skipping a process busier than another), failover, reloads
and the access log, through the real router."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import struct
import threading
import time

import pytest


def test_each_app_is_served_at_its_hostname_and_custom_domains(backends, router):
    """APP.<domain> and the app's custom domains reach that app's process, whatever the case/port."""
    hello, other = backends("web.1"), backends("web.1")
    r = router(
        {
            "hello": {"domains": ["www.hello.test"], "backends": [hello.route()]},
            "other": {"backends": [other.route()]},
        }
    )
    for host in ("hello.localhost", "HELLO.localhost:8080", "www.hello.test"):
        status, _, body = r.request(host)
        assert status == 200
        assert json.loads(body)["headers"]["host"] == host
    status, _, _ = r.request("other.localhost")
    assert status == 200
    assert len(hello.requests) == 3
    assert len(other.requests) == 1


def test_unknown_host_gets_404_and_never_reaches_another_app(backends, router):
    """A Host no app claims is answered by the router with H43, logged with no app."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    for host in ("nope.localhost", "localhost", "hello.localhost.evil.test", "127.0.0.1"):
        status, headers, body = r.request(host)
        assert status == 404
        assert headers["x-twelve-error"] == "H43"
        assert b"H43" in body
    assert hello.requests == []
    line = r.access_line("host=nope.localhost")
    assert line["app"] is None
    assert "at=error code=H43" in line["line"]


def test_app_with_no_web_process_gets_503_h14(router):
    """An app in the table with no backends: 503 and code H14 in the page and the app's log."""
    r = router({"quiet": {"backends": []}})
    status, headers, body = r.request("quiet.localhost", "/page")
    assert status == 503
    assert b"H14: No web processes running" in body
    line = r.access_line('path="/page"')
    assert line["app"] == "quiet"
    assert 'at=error code=H14 desc="No web processes running"' in line["line"]
    assert "status=503" in line["line"]
    assert headers["connection"] == "keep-alive"


def test_an_app_in_maintenance_gets_503_h80_and_its_processes_no_request(backends, router):
    """A restore under way: every request answers H80, none reaches the app's web process."""
    web = backends("web.1")
    r = router({"busy": {"backends": [web.route()], "maintenance": True}})
    status, headers, body = r.request("busy.localhost", "/orders")
    assert status == 503
    assert headers["x-twelve-error"] == "H80"
    assert b"H80: Maintenance mode" in body
    assert web.requests == []
    assert 'at=error code=H80 desc="Maintenance mode"' in r.access_line('path="/orders"')["line"]


def test_requests_are_spread_round_robin_over_the_apps_processes(backends, router):
    """Successive requests go to web.1, web.2, web.3 in turn."""
    procs = [backends(f"web.{i}") for i in (1, 2, 3)]
    r = router({"hello": {"backends": [p.route() for p in procs]}})
    names = [json.loads(r.request("hello.localhost")[2])["backend"] for _ in range(6)]
    assert sorted(names) == ["web.1", "web.1", "web.2", "web.2", "web.3", "web.3"]
    assert names[:3] != [names[0]] * 3


def test_a_process_busy_with_a_request_gets_no_more_while_another_is_free(backends, router, poll):
    """Round robin skips a process with more requests in flight than another, then resumes."""
    busy, free = backends("web.1"), backends("web.2")
    r = router({"hello": {"backends": [busy.route(), free.route()]}})
    with socket.create_connection((r.host, r.port), timeout=10) as held:
        # The first turn is web.1's: it holds this response until released.
        held.sendall(b"GET /held HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        poll(lambda: len(busy.requests) == 1, 5, "the held request to reach web.1")
        names = [json.loads(r.request("hello.localhost")[2])["backend"] for _ in range(4)]
        assert names == ["web.2"] * 4
        busy.server.release.set()
        assert held.recv(65536).startswith(b"HTTP/1.1 200")
    r.access_line('path="/held"')  # the held exchange has ended, and its counts with it
    names = [json.loads(r.request("hello.localhost")[2])["backend"] for _ in range(4)]
    assert sorted(names) == ["web.1", "web.1", "web.2", "web.2"]


def test_a_process_answering_5xx_gets_only_its_own_turns_not_the_idle_ones_share(
    backends, router, poll
):
    """A process that fails fast looks idle: it must not be the least busy one for a while."""
    healthy, failing = backends("web.1"), backends("web.2")
    failing.server.status = 500
    r = router({"hello": {"backends": [healthy.route(), failing.route()]}})
    with socket.create_connection((r.host, r.port), timeout=10) as held:
        held.sendall(b"GET /held HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        poll(lambda: len(healthy.requests) == 1, 5, "the held request to reach web.1")
        status, _, body = r.request("hello.localhost")  # web.2's turn
        assert (status, json.loads(body)["backend"]) == (500, "web.2")
        # web.1 has a request in flight, web.2 none: least busy alone would send all four there.
        answers = [r.request("hello.localhost") for _ in range(4)]
        assert [(s, json.loads(b)["backend"]) for s, _, b in answers] == [
            (200, "web.1"),
            (500, "web.2"),
            (200, "web.1"),
            (500, "web.2"),
        ]
        healthy.server.release.set()
        assert held.recv(65536).startswith(b"HTTP/1.1 200")


def test_a_connect_under_way_counts_as_a_request_in_flight(backends, router, stuck_route, poll):
    """While a process has not taken one connection yet, the next requests go to another."""
    stuck, free = stuck_route("web.1"), backends("web.2")
    r = router({"hello": {"backends": [stuck, free.route()]}}, router_connect_timeout="60")
    with socket.create_connection((r.host, r.port), timeout=5) as held:
        held.sendall(b"GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        poll(lambda: stuck_route.connects_waiting(stuck["port"]) == 1, 5, "the connect to start")
        for _ in range(4):
            status, _, body = r.request("hello.localhost")
            assert (status, json.loads(body)["backend"]) == (200, "web.2")
        assert stuck_route.connects_waiting(stuck["port"]) == 1
        held.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_a_process_that_refuses_connections_is_skipped(backends, router, dead_route):
    """A backend nobody listens on: the request goes to the next one, the client never sees it."""
    alive = backends("web.2")
    dead = dead_route("web.1")
    r = router({"hello": {"backends": [dead, alive.route()]}})
    for _ in range(4):
        status, _, body = r.request("hello.localhost")
        assert status == 200
        assert json.loads(body)["backend"] == "web.2"


def test_no_process_accepting_gives_503_h10(router, dead_route):
    """Every backend refuses: 503 with H10, logged for the app."""
    dead = [dead_route("web.1"), dead_route("web.2")]
    r = router({"hello": {"backends": dead}})
    status, _, body = r.request("hello.localhost")
    assert status == 503
    assert b"H10" in body
    assert 'code=H10 desc="App crashed"' in r.access_line("host=hello.localhost")["line"]


def test_a_process_that_takes_no_connection_is_given_up_for_the_next(backends, router, stuck_route):
    """A connect that does not complete in TWELVE_ROUTER_CONNECT_TIMEOUT goes to the next process."""
    alive = backends("web.2")
    r = router(
        {"hello": {"backends": [stuck_route("web.1"), alive.route()]}},
        router_connect_timeout="0.4",
    )
    for _ in range(3):
        began = time.monotonic()
        status, _, body = r.request("hello.localhost")
        assert (status, json.loads(body)["backend"]) == (200, "web.2")
    assert time.monotonic() - began < 5  # given up well before the kernel's own SYN retries end


def test_a_process_a_connect_failed_to_is_tried_last_until_the_fail_timeout_passes(
    backends, router, stuck_route, poll
):
    """As nginx's fail_timeout: the requests after a failed connect go straight to the others."""
    alive = backends("web.2")
    stuck = stuck_route("web.1")
    r = router(
        {"hello": {"backends": [stuck, alive.route()]}},
        router_workers="1",
        router_connect_timeout="0.5",
        router_fail_timeout="2",
    )

    def first_try_of_a_held_request() -> str:
        """Where a held request went first: a connect to web.1 shows long before web.2 can
        have it, since web.2 is tried only once that connect is given up."""
        held = socket.create_connection((r.host, r.port), timeout=10)
        try:
            before = len(alive.requests)
            held.sendall(b"GET /held HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
            poll(
                lambda: stuck_route.connects_waiting(stuck["port"]) or len(alive.requests) > before,
                5,
                "the request to go somewhere",
            )
            went = "web.1" if stuck_route.connects_waiting(stuck["port"]) else "web.2"
            poll(lambda: len(alive.requests) > before, 5, "the request to reach web.2")
            alive.server.release.set()
            assert held.recv(65536).startswith(b"HTTP/1.1 200")
            alive.server.release.clear()
            return went
        finally:
            held.close()

    failed_at = time.monotonic()
    assert first_try_of_a_held_request() == "web.1"  # idle, so first; its connect times out
    assert [first_try_of_a_held_request() for _ in range(3)] == ["web.2"] * 3
    time.sleep(max(0.0, failed_at + 0.5 + 2 + 0.3 - time.monotonic()))
    assert first_try_of_a_held_request() == "web.1"  # tried again once the fail timeout passed


def test_a_client_that_leaves_while_its_connect_waits_has_the_connect_given_up(
    router, stuck_route, poll
):
    """The request would go out once the process took the connection: it goes nowhere."""
    entry = stuck_route("web.1")
    r = router({"hello": {"backends": [entry]}}, router_connect_timeout="60")
    port = entry["port"]
    with socket.create_connection((r.host, r.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        poll(lambda: stuck_route.connects_waiting(port) == 1, 5, "the connect to start")
        # A reset: a half-close alone would still wait for the answer.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert 'code=H27 desc="Client request interrupted"' in r.access_line("host=hello")["line"]
    poll(lambda: stuck_route.connects_waiting(port) == 0, 2, "the connect to be given up")


def test_no_process_taking_a_connection_gives_503_h19(router, stuck_route, poll):
    entry = stuck_route("web.1")
    r = router({"hello": {"backends": [entry]}}, router_connect_timeout="0.4")
    began = time.monotonic()
    status, _, body = r.request("hello.localhost")
    assert status == 503
    assert b"H19" in body
    assert 0.4 <= time.monotonic() - began < 5
    assert 'code=H19 desc="Backend connection timeout"' in r.access_line("host=hello")["line"]
    # A connect given up is closed, not left to the kernel's SYN retries (minutes of them).
    assert r.request("hello.localhost")[0] == 503
    poll(lambda: stuck_route.connects_waiting(entry["port"]) == 0, 2, "given-up connects to close")


def test_forwarded_headers_tell_the_app_about_the_client(backends, router):
    """X-Forwarded-*, X-Request-Id, X-Request-Start and Via reach the app; spoofs are replaced."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    before = int(time.time() * 1000)
    _, _, body = r.request(
        "hello.localhost:1234",
        headers={
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Port": "1",
            "X-Request-Id": "client-chosen-id-123",
        },
    )
    seen = json.loads(body)["headers"]
    assert seen["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-port"] == str(r.port)
    assert seen["x-forwarded-host"] == "hello.localhost:1234"
    assert seen["x-request-id"] == "client-chosen-id-123"
    assert before <= int(seen["x-request-start"]) <= int(time.time() * 1000)
    assert seen["via"] == "1.1 twelve"

    _, _, body = r.request("hello.localhost", headers={"X-Request-Id": "bad id with spaces"})
    generated = json.loads(body)["headers"]["x-request-id"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}", generated
    )


def test_every_request_is_one_access_line_in_herokus_format(backends, router):
    """The line the app's log stream shows for a request."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    _, _, body = r.request("hello.localhost", "/greet?name=x", headers={"X-Request-Id": "abc-1"})
    line = r.access_line("request_id=abc-1")
    assert line["app"] == "hello"
    assert re.fullmatch(
        r'at=info method=GET path="/greet\?name=x" host=hello\.localhost request_id=abc-1 '
        r'fwd="127\.0\.0\.1" dyno=web\.1 connect=\d+ms service=\d+ms status=200 '
        r"bytes=(\d+)",
        line["line"],
    )
    assert int(line["line"].rsplit("bytes=", 1)[1]) > len(body)  # the head counts too


def test_sighup_reloads_the_route_table(backends, router):
    """The daemon rewrites routes.json and sends SIGHUP: new apps appear, removed ones 404."""
    first, second = backends("web.1"), backends("web.1")
    r = router({"first": {"backends": [first.route()]}})
    assert r.request("second.localhost")[0] == 404
    r.write_routes({"second": {"backends": [second.route()]}}, version=2)
    r.reload()
    r.wait_line(lambda e: e.get("event") == "routes" and e["version"] == 2)
    assert r.request("second.localhost")[0] == 200
    assert r.request("first.localhost")[0] == 404
    assert len(second.requests) == 1


def test_missing_or_broken_route_table_serves_nothing_and_warns(backends, router):
    """No file, then a malformed one: the router warns, answers 404, and keeps running."""
    hello = backends("web.1")
    r = router(None)
    assert "no route table" in r.wait_line(lambda e: e.get("event") == "warning")["message"]
    assert r.request("hello.localhost")[0] == 404
    r.routes_path.parent.mkdir(parents=True)
    r.routes_path.write_text("{not json")
    r.reload()
    assert "unusable" in r.wait_line(lambda e: e.get("event") == "warning")["message"]
    assert r.request("hello.localhost")[0] == 404
    r.write_routes({"hello": {"backends": [hello.route()]}}, version=5)
    r.reload()
    r.wait_line(lambda e: e.get("event") == "routes" and e["version"] == 5)
    assert r.request("hello.localhost")[0] == 200
    assert r.process.poll() is None


def test_request_in_flight_to_a_removed_process_still_finishes(backends, router, poll):
    """A process leaves the table mid-request: its response still reaches the client."""
    old, new = backends("web.1"), backends("web.2")
    r = router({"hello": {"backends": [old.route()]}})
    result: dict[str, object] = {}

    def slow() -> None:
        result["response"] = r.request("hello.localhost", "/?sleep=0.8")

    thread = threading.Thread(target=slow)
    thread.start()
    poll(lambda: old.requests, 5, "the slow request to reach web.1")
    r.write_routes({"hello": {"backends": [new.route()]}}, version=2)
    r.reload()
    r.wait_line(lambda e: e.get("event") == "routes" and e["version"] == 2)
    assert json.loads(r.request("hello.localhost")[2])["backend"] == "web.2"
    thread.join(10)
    status, _, body = result["response"]  # type: ignore[misc]
    assert status == 200
    assert json.loads(body)["backend"] == "web.1"


def test_sigterm_finishes_in_flight_requests_then_exits_0(backends, router, poll):
    """Stopping the router lets a request already being served complete."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}})
    result: dict[str, object] = {}

    def slow() -> None:
        result["response"] = r.request("hello.localhost", "/?sleep=0.6")

    thread = threading.Thread(target=slow)
    thread.start()
    poll(lambda: hello.requests, 5, "the request to reach the app")
    assert r.stop(signal.SIGTERM) == 0
    thread.join(10)
    assert result["response"][0] == 200  # type: ignore[index]


def test_several_workers_share_the_port_and_all_reload(backends, router):
    """TWELVE_ROUTER_WORKERS=2: one announced address, both workers serve and take SIGHUP."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}}, router_workers="2")
    pids = {r.wait_line(lambda e: e.get("event") == "routes")["pid"] for _ in range(2)}
    assert len(pids) == 2
    for _ in range(8):
        assert r.request("hello.localhost")[0] == 200
    r.write_routes({}, version=9)
    r.reload()
    reloaded = {
        r.wait_line(lambda e: e.get("event") == "routes" and e["version"] == 9)["pid"]
        for _ in range(2)
    }
    assert reloaded == pids
    assert r.request("hello.localhost")[0] == 404
    assert r.stop() == 0


@pytest.mark.parametrize(("setting", "policy"), [("1", "SCHED_BATCH"), ("0", "SCHED_OTHER")])
def test_router_workers_wait_for_an_apps_time_slice_unless_told_not_to(
    backends, router, setting, policy
):
    """Under SCHED_BATCH a woken worker does not preempt an app mid-request; 0 keeps the default."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}}, router_sched_batch=setting)
    worker = r.wait_line(lambda e: e.get("event") == "routes")["pid"]
    assert os.sched_getscheduler(worker) == getattr(os, policy)
    assert os.sched_getscheduler(r.process.pid) == getattr(os, policy)
    assert r.request("hello.localhost")[0] == 200
    assert not [e for e in r.seen if "scheduling policy" in e.get("message", "")]
    assert r.stop() == 0


def test_a_worker_that_dies_is_replaced(backends, router):
    """SIGKILL to one of two workers: the router starts another and keeps serving on the port."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}}, router_workers="2")
    pids = {r.wait_line(lambda e: e.get("event") == "routes")["pid"] for _ in range(2)}
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    r.wait_line(lambda e: e.get("event") == "warning" and "worker exited" in e["message"])
    replacement = r.wait_line(lambda e: e.get("event") == "routes")["pid"]
    assert replacement not in pids
    for _ in range(6):
        assert r.request("hello.localhost")[0] == 200
    assert r.stop() == 0


def test_the_routers_error_pages_answer_head_with_their_headers_and_no_body(router):
    """A client reads no body after HEAD, so one sent would be taken for the next response."""
    r = router({"quiet": {"backends": []}})
    for host, status in ((b"quiet.localhost", b"503"), (b"nope.localhost", b"404")):
        raw = r.raw(b"HEAD /page HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        head, _, rest = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 " + status) and b"X-Twelve-Error: " in head
        assert b"Content-Length: " in head and b"Content-Length: 0" not in head
        assert rest == b""
    status, _, body = r.request("quiet.localhost", "/page")
    assert status == 503 and body.startswith(b"503 ")
