"""A CA's rate limit, end to end: the daemon's real ACME client against Pebble, whose new-order
endpoint sits behind a front that refuses with ``rateLimited`` and ``Retry-After`` (the Debian
package's Pebble has no rate limits of its own). No try comes before the CA's time, not even for
a domain added meanwhile, and ``certs:auto`` and the app's log say until when."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from acme_support import app_log, auto, start_daemon, stop_daemon
from certmaker import TestCA
from pebble_support import Pebble, free_port, running_pebble
from support import wait_for

pytestmark = pytest.mark.slow
WAIT = 4  # seconds of the front's Retry-After


class RateLimitingFront:
    """HTTPS on localhost: Pebble's directory with ``newOrder`` pointing here, where every new
    order is refused for ``WAIT`` seconds (the times they came are kept)."""

    def __init__(self, pebble: Pebble, directory: Path) -> None:
        ca = TestCA("rate limiting front CA")
        cert, key = ca.issue_files(directory / "front", "localhost")
        self.bundle = directory / "trusted.pem"
        self.bundle.write_bytes(pebble.ca_bundle.read_bytes() + ca.pem)
        self.orders: list[float] = []
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listing = httpx.get(pebble.directory, verify=pebble.trust()).json()
                listing["newOrder"] = f"https://localhost:{front.port}/new-order"
                self._send(200, "application/json", json.dumps(listing).encode(), {})

            def do_POST(self) -> None:
                front.orders.append(time.monotonic())
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                problem = {
                    "type": "urn:ietf:params:acme:error:rateLimited",
                    "detail": "too many new orders recently",
                }
                headers = {"Retry-After": str(WAIT)}
                body = json.dumps(problem).encode()
                self._send(429, "application/problem+json", body, headers)

            def _send(self, code: int, kind: str, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.directory = f"https://localhost:{self.port}/dir"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def front(tmp_path: Path) -> Iterator[tuple[Pebble, RateLimitingFront]]:
    with running_pebble(tmp_path / "pebble", free_port()) as pebble:
        made = RateLimitingFront(pebble, tmp_path)
        try:
            yield pebble, made
        finally:
            made.close()


def test_a_rate_limited_order_waits_for_the_cas_retry_after(
    front: tuple[Pebble, RateLimitingFront], tmp_path: Path, uv_cache: Path
) -> None:
    pebble, limiting = front
    d = start_daemon(
        tmp_path / "home",
        uv_cache,
        free_port(),
        pebble,
        tmp_path / "home.log",
        TWELVE_ACME_DIRECTORY=limiting.directory,
        TWELVE_ACME_CA_BUNDLE=str(limiting.bundle),
    )
    try:
        d.cli("apps:create", "acme-seven")
        d.cli("domains:add", "-a", "acme-seven", "a.seven.test")
        d.cli("certs:auto:enable", "-a", "acme-seven")
        wait_for(lambda: len(limiting.orders) >= 1, 60, "the first order")
        # A domain added meanwhile would be ordered at once, were it not for the CA's wait.
        d.cli("domains:add", "-a", "acme-seven", "b.seven.test")
        row = wait_for(
            lambda: (r := auto(d, "acme-seven")["domains"][0])["state"] == "failing" and r,
            30,
            "the refusal in certs:auto",
        )
        assert row["error"] == "rateLimited: too many new orders recently"
        assert row["ca_retry_after"] and row["next_try"] >= row["ca_retry_after"]
        shown = d.cli("certs:auto", "-a", "acme-seven").stdout
        assert "the CA asks to wait until" in shown
        log = app_log(d, "acme-seven")
        assert "certificate order failed: rateLimited: too many new orders recently; " in log
        assert "the CA asks to wait until" in log
        wait_for(lambda: len(limiting.orders) >= 3, 60, "two more tries")
        gaps = [b - a for a, b in zip(limiting.orders, limiting.orders[1:], strict=False)]
        assert all(gap >= WAIT - 0.05 for gap in gaps), gaps  # never before Retry-After
    finally:
        stop_daemon(d)
