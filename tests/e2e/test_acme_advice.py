"""What a CA advises, end to end: the daemon's real ACME client against Pebble behind a front
that adds what the Debian package's Pebble (2.4) lacks, a rate limit on new orders and renewal
information (ARI, RFC 9773), serving Pebble's directory with those endpoints pointing to itself.

A ``rateLimited`` refusal's ``Retry-After`` holds every try back, even for a domain added
meanwhile, and ``certs:auto`` and the app's log say until when. A renewal window earlier than the
schedule renews the certificate then, kept across a daemon restart without asking again before
the CA's ``Retry-After``; that daemon validates over TLS-ALPN-01 alone (Pebble's HTTP-01 port is
one nothing listens on)."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from acme_support import all_issued, app_log, auto, fingerprint, start_daemon, stop_daemon
from certmaker import TestCA
from pebble_support import Pebble, free_port, running_pebble
from support import wait_for

pytestmark = pytest.mark.slow
WAIT = 4  # seconds of the front's Retry-After on new orders
SOON = 8  # seconds from the first certificate's renewal information to its suggested window


class CaFront:
    """HTTPS on localhost: Pebble's directory, with ``newOrder`` pointing here when
    ``limit_orders`` (every new order refused for ``WAIT`` seconds, the times they came kept) and
    ``renewalInfo`` pointing here (the first certificate asked about gets a window ``SOON``, any
    other one past its expiry; the certificate ids asked about are kept)."""

    def __init__(self, pebble: Pebble, directory: Path, *, limit_orders: bool) -> None:
        ca = TestCA("rate limiting front CA")
        cert, key = ca.issue_files(directory / "front", "localhost")
        self.bundle = directory / "trusted.pem"
        self.bundle.write_bytes(pebble.ca_bundle.read_bytes() + ca.pem)
        self.orders: list[float] = []
        self.renewal_asks: list[str] = []
        self.soon: dt.datetime | None = None
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/renewal-info/"):
                    self._renewal_info(self.path.rpartition("/")[2])
                    return
                listing = httpx.get(pebble.directory, verify=pebble.trust()).json()
                if limit_orders:
                    listing["newOrder"] = f"https://localhost:{front.port}/new-order"
                listing["renewalInfo"] = f"https://localhost:{front.port}/renewal-info"
                self._send(200, "application/json", json.dumps(listing).encode(), {})

            def _renewal_info(self, cert_id: str) -> None:
                first = not front.renewal_asks or front.renewal_asks[0] == cert_id
                front.renewal_asks.append(cert_id)
                now = dt.datetime.now(dt.UTC)
                if first:
                    front.soon = front.soon or now + dt.timedelta(seconds=SOON)
                    start = front.soon
                else:
                    start = now + dt.timedelta(days=30)
                window = {
                    "start": _rfc3339(start),
                    "end": _rfc3339(start + dt.timedelta(seconds=1)),
                }
                body = json.dumps({"suggestedWindow": window}).encode()
                self._send(200, "application/json", body, {"Retry-After": "3600"})

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


def _rfc3339(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def limiting_front(tmp_path: Path) -> Iterator[tuple[Pebble, CaFront]]:
    with running_pebble(tmp_path / "pebble", free_port()) as pebble:
        made = CaFront(pebble, tmp_path, limit_orders=True)
        try:
            yield pebble, made
        finally:
            made.close()


def test_a_rate_limited_order_waits_for_the_cas_retry_after(
    limiting_front: tuple[Pebble, CaFront], tmp_path: Path, uv_cache: Path
) -> None:
    pebble, limiting = limiting_front
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
        wait_for(lambda: len(limiting.orders) >= 2, 60, "the next try")
        gaps = [b - a for a, b in zip(limiting.orders, limiting.orders[1:], strict=False)]
        assert all(gap >= WAIT - 0.05 for gap in gaps), gaps  # never before Retry-After
    finally:
        stop_daemon(d)


def test_an_earlier_renewal_window_renews_then_and_survives_a_restart(
    tmp_path: Path, uv_cache: Path
) -> None:
    tls_port = free_port()
    with running_pebble(tmp_path / "pebble", free_port(), tls_port=tls_port) as pebble:
        front = CaFront(pebble, tmp_path, limit_orders=False)
        d = start_daemon(
            tmp_path / "home",
            uv_cache,
            free_port(),
            pebble,
            tmp_path / "home.log",
            TWELVE_ACME_DIRECTORY=front.directory,
            TWELVE_ACME_CA_BUNDLE=str(front.bundle),
            TWELVE_ROUTER_TLS_BIND=f"127.0.0.1:{tls_port}",
            TWELVE_ACME_CHALLENGE="tls-alpn-01",
        )
        try:
            d.cli("apps:create", "acme-six")
            d.cli("domains:add", "-a", "acme-six", "a.six.test")
            d.cli("certs:auto:enable", "-a", "acme-six")
            wait_for(lambda: all_issued(d, "acme-six"), 60, "the certificate over TLS-ALPN-01")
            trusted = ssl.create_default_context(cadata=pebble.root_pem().decode())
            first = fingerprint(tls_port, "a.six.test", trusted)  # Pebble's, for that name
            assert first and fingerprint(tls_port, "other.six.test") != first
            log = app_log(d, "acme-six")
            assert "certificate issued for a.six.test" in log and "acme-challenge" not in log

            state_file = d.home / "acme" / "acme-six" / "state.json"
            ari = wait_for(
                lambda: json.loads(state_file.read_text()).get("ari"), 20, "renewal information"
            )
            assert front.soon is not None
            start = dt.datetime.fromisoformat(ari["start"])
            soon = front.soon.replace(microsecond=0)  # (the window is given to the second)
            assert soon <= start <= soon + dt.timedelta(seconds=1)
            assert ari["fingerprint"] == first
            wait_for(
                lambda: "the CA's renewal information moves renewal to" in app_log(d, "acme-six"),
                20,
                "the earlier renewal in the log",
            )
            d.stop()  # the window comes while this daemon is gone: the next one keeps it
            d.start()
            wait_for(
                lambda: fingerprint(tls_port, "a.six.test", trusted) not in ("", first),
                60,
                "the renewal the CA suggested",
            )
            assert "renewing a certificate for a.six.test" in app_log(d, "acme-six")
            # The first certificate's window was asked for once: the restart did not ask again
            # before its Retry-After; the new certificate's was asked for after it was issued.
            wait_for(lambda: len(set(front.renewal_asks)) == 2, 20, "the new certificate's")
            assert front.renewal_asks.count(front.renewal_asks[0]) == 1
        finally:
            stop_daemon(d)
            front.close()
