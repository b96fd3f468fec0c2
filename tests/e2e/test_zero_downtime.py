"""Traffic keeps flowing while the app is redeployed, reconfigured, scaled, restarted and rolled back."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from support import EXAMPLES, Daemon, Load, until_requests

pytestmark = pytest.mark.slow
HELLO = EXAMPLES / "hello-python"


def hello_with_two_web_processes(make_daemon: Callable[..., Daemon]) -> Daemon:
    d = make_daemon()
    d.cli("apps:create", "hello")
    d.cli("deploy", "-a", "hello", str(HELLO))
    d.cli("ps:scale", "-a", "hello", "web=2")
    return d


def router_port(d: Daemon) -> str:
    return d.router_url.rsplit(":", 1)[1]


def test_no_request_fails_during_deploys_config_changes_scaling_restarts_and_rollbacks(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = hello_with_two_web_processes(make_daemon)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("redeploy", lambda: d.cli("deploy", "-a", "hello", str(HELLO))),
        ("config change", lambda: d.cli("config:set", "-a", "hello", "GREETING=hey")),
        ("scale to 4", lambda: d.cli("ps:scale", "-a", "hello", "web=4")),
        ("scale to 1", lambda: d.cli("ps:scale", "-a", "hello", "web=1")),
        ("scale to 2", lambda: d.cli("ps:scale", "-a", "hello", "web=2")),
        ("restart", lambda: d.cli("ps:restart", "-a", "hello")),
        ("rollback", lambda: d.cli("rollback", "-a", "hello", "v1")),
    ]
    load = Load(f"http://127.0.0.1:{router_port(d)}/", "hello.localhost")
    with load.running():
        until_requests(load, 50)
        for name, action in steps:
            action()
            until_requests(load, 50)
            assert load.failures() == {}, f"requests failed during {name}: {load.failures()}"
    assert load.outcomes["ok"] > 400


def test_only_requests_in_flight_on_a_killed_process_may_fail(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = hello_with_two_web_processes(make_daemon)
    load = Load(f"http://127.0.0.1:{router_port(d)}/", "hello.localhost")
    with load.running(clients=2):
        until_requests(load, 50)
        victim = next(p for p in d.cli_json("ps", "-a", "hello") if p["name"] == "web.1")  # type: ignore[union-attr]
        os.kill(victim["pid"], signal.SIGKILL)
        until_requests(load, 200)
    # Two clients, each with at most one request in flight on the killed process.
    assert sum(load.failures().values()) <= 2, load.failures()


SLOW_APP = """
import os, signal, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(3)
        body = f"done by {os.environ['DYNO']} pid {os.getpid()}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
server.daemon_threads = True
# Exits at once on SIGTERM, in-flight requests or not: only a drain before it saves them.
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
server.serve_forever()
"""


def test_a_slow_request_in_flight_finishes_when_its_process_is_replaced(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    """The router stops sending to a retired process and it gets SIGTERM only once idle."""
    app = tmp_path / "slow"
    app.mkdir()
    (app / "app.py").write_text(SLOW_APP)
    (app / "Procfile").write_text("web: python app.py\n")
    (app / "requirements.txt").write_text("")
    d = make_daemon(TWELVE_DRAIN_TIMEOUT="20")
    d.cli("apps:create", "slow")
    d.cli("deploy", "-a", "slow", str(app))
    before = d.get("slow").text
    port = d.router_url.rsplit(":", 1)[1]
    result: dict[str, httpx.Response] = {}

    def slow_request() -> None:
        with httpx.Client(timeout=30) as client:
            result["r"] = client.get(
                f"http://127.0.0.1:{port}/slow", headers={"Host": "slow.localhost"}
            )

    thread = threading.Thread(target=slow_request)
    thread.start()
    time.sleep(0.5)  # the request is now in flight on the old process
    d.cli("ps:restart", "-a", "slow")
    after = d.get("slow").text
    thread.join(30)
    assert result["r"].status_code == 200, result["r"].text
    assert result["r"].text == before, "the old process finished the request it had"
    assert after != before, "new requests already went to the new process"
