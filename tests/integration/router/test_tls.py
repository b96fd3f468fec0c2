"""HTTPS through the real router: each app's certificate chosen by SNI, HTTP unchanged beside it."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certmaker import TestCA
from twelve.router.table import table_from_json
from twelve.router.tls import DEFAULT_NAME, Certificates, self_signed

TIMEOUT = 10.0


class SniConnection(http.client.HTTPConnection):
    """HTTPS to the router's address, asking for ``server_name`` by SNI (None: no SNI)."""

    def __init__(self, port: int, server_name: str | None, context: ssl.SSLContext) -> None:
        super().__init__("127.0.0.1", port, timeout=TIMEOUT)
        self.server_name = server_name
        self.context = context

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        try:
            self.sock = self.context.wrap_socket(sock, server_hostname=self.server_name)
        except BaseException:
            sock.close()
            raise

    def presented_name(self) -> str:
        """The common name of the certificate the router presented."""
        assert isinstance(self.sock, ssl.SSLSocket)
        der = self.sock.getpeercert(binary_form=True)
        assert der is not None
        cert = x509.load_der_x509_certificate(der)
        return str(cert.subject.rfc4514_string().removeprefix("CN="))

    def get(self, host: str, path: str = "/", **headers: str) -> tuple[int, dict[str, Any]]:
        self.request("GET", path, headers={"Host": host, **headers})
        response = self.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body.startswith(b"{") else {"raw": body}


def trusting(ca: TestCA) -> ssl.SSLContext:
    """A client that trusts only the test CA and checks hostnames, as a browser would."""
    return ssl.create_default_context(cadata=ca.pem.decode())


def unverified() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def tls_port(r: Any) -> int:
    event = r.wait_line(lambda e: e.get("event") == "listening_tls")
    return int(event["address"].rpartition(":")[2])


def tls_entry(cert: Path, key: Path, *hostnames: str) -> dict[str, Any]:
    return {"cert": str(cert), "key": str(key), "hostnames": list(hostnames)}


@pytest.fixture
def ca() -> TestCA:
    return TestCA()


@pytest.fixture
def two_apps(backends, router, ca, tmp_path):
    """alpha and beta, each with its own certificate, served on HTTP and HTTPS."""
    alpha, beta = backends("web.1"), backends("web.1")
    alpha_files = ca.issue_files(tmp_path / "alpha", "alpha.localhost")
    beta_files = ca.issue_files(tmp_path / "beta", "beta.localhost", "www.beta.test")
    r = router(
        {
            "alpha": {
                "backends": [alpha.route()],
                "tls": tls_entry(*alpha_files, "alpha.localhost"),
            },
            "beta": {
                "domains": ["www.beta.test"],
                "backends": [beta.route()],
                "tls": tls_entry(*beta_files, "beta.localhost", "www.beta.test"),
            },
        },
        router_tls_bind="127.0.0.1:0",
    )
    return r, tls_port(r), alpha, beta


def test_each_app_presents_its_own_certificate_for_its_sni_name(two_apps, ca):
    """A client trusting the CA reaches alpha and beta over HTTPS with their own certificates."""
    r, port, alpha, beta = two_apps
    for name, expected_cert in (
        ("alpha.localhost", "alpha.localhost"),
        ("beta.localhost", "beta.localhost"),
        ("www.beta.test", "beta.localhost"),  # beta's certificate covers its custom domain
    ):
        conn = SniConnection(port, name, trusting(ca))
        try:
            status, seen = conn.get(name)
            assert conn.presented_name() == expected_cert
        finally:
            conn.close()
        assert status == 200
        assert seen["headers"]["host"] == name
        assert seen["headers"]["x-forwarded-proto"] == "https"
        assert seen["headers"]["x-forwarded-port"] == str(port)
    assert len(alpha.requests) == 1
    assert len(beta.requests) == 2
    assert "host=alpha.localhost" in r.access_line("status=200")["line"]


def test_plain_http_keeps_working_beside_https(two_apps):
    """The HTTP port still routes, and tells the app the request came over http."""
    r, _, alpha, _ = two_apps
    status, _, body = r.request("alpha.localhost")
    assert status == 200
    headers = json.loads(body)["headers"]
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-port"] == str(r.port)
    assert len(alpha.requests) == 1


def test_keep_alive_and_a_client_forwarded_for_still_say_https(two_apps, ca):
    """Several requests on one TLS connection; a client X-Forwarded-For does not change the proto."""
    _, port, alpha, _ = two_apps
    conn = SniConnection(port, "alpha.localhost", trusting(ca))
    try:
        first = conn.get("alpha.localhost", "/1")[1]
        tls_socket = conn.sock
        second = conn.get("alpha.localhost", "/2", **{"X-Forwarded-For": "203.0.113.9"})[1]
        assert conn.sock is tls_socket, "the second request reused the TLS connection"
    finally:
        conn.close()
    assert [first["path"], second["path"]] == ["/1", "/2"]
    assert len(alpha.requests) == 2
    assert second["headers"]["x-forwarded-proto"] == "https"
    assert second["headers"]["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"


def test_unknown_names_get_the_default_certificate_then_404(two_apps):
    """No app's certificate is shown for a name it does not cover; the request gets H43."""
    _, port, alpha, beta = two_apps
    conn = SniConnection(port, "nope.localhost", unverified())
    try:
        status, seen = conn.get("nope.localhost")
        assert conn.presented_name() == DEFAULT_NAME
    finally:
        conn.close()
    assert status == 404
    assert b"H43" in seen["raw"]
    assert alpha.requests == [] and beta.requests == []


def test_a_client_without_sni_is_still_routed_by_host(two_apps):
    """No server name: the default certificate, then the Host header picks the app as over HTTP."""
    _, port, alpha, _ = two_apps
    conn = SniConnection(port, None, unverified())
    try:
        status, seen = conn.get("alpha.localhost")
        assert conn.presented_name() == DEFAULT_NAME
    finally:
        conn.close()
    assert status == 200
    assert seen["headers"]["x-forwarded-proto"] == "https"
    assert len(alpha.requests) == 1


def test_websocket_upgrades_are_tunnelled_over_tls(two_apps, ca):
    """An Upgrade over HTTPS gets the app's 101, then bytes flow both ways through TLS."""
    _, port, _, _ = two_apps
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    with trusting(ca).wrap_socket(raw, server_hostname="alpha.localhost") as sock:
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: alpha.localhost\r\nConnection: Upgrade\r\n"
            b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 101 ")
        sock.sendall(b"ping")
        got = b""
        while len(got) < 4:
            got += sock.recv(4096)
        assert got == b"PING"


def test_a_certificate_added_or_replaced_later_is_served_after_a_reload(
    backends, router, ca, tmp_path
):
    """The table gains a certificate, then the files are replaced: each reload serves the new one."""
    hello = backends("web.1")
    r = router({"hello": {"backends": [hello.route()]}}, router_tls_bind="127.0.0.1:0")
    port = tls_port(r)

    def presented() -> str:
        conn = SniConnection(port, "hello.localhost", unverified())
        try:
            conn.connect()
            assert isinstance(conn.sock, ssl.SSLSocket)
            return hashlib.sha256(conn.sock.getpeercert(binary_form=True) or b"").hexdigest()
        finally:
            conn.close()

    default = presented()
    cert, key = ca.issue_files(tmp_path / "hello", "hello.localhost")
    for version in (2, 3):
        if version == 3:  # a renewed certificate written over the same paths
            cert, key = ca.issue_files(tmp_path / "hello", "hello.localhost")
        r.write_routes(
            {"hello": {"backends": [hello.route()], "tls": tls_entry(cert, key)}}, version
        )
        r.reload()
        r.wait_line(lambda e, v=version: e.get("event") == "routes" and e["version"] == v)
        leaf = x509.load_pem_x509_certificate(cert.read_bytes())
        expected = hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).hexdigest()
        assert presented() == expected != default


def test_an_unreadable_certificate_is_a_warning_and_http_keeps_serving(backends, router, tmp_path):
    """A certificate file that is gone: a warning event, the default certificate, no crash."""
    hello = backends("web.1")
    missing = tmp_path / "gone"
    r = router(
        {"hello": {"backends": [hello.route()], "tls": tls_entry(missing / "c", missing / "k")}},
        router_tls_bind="127.0.0.1:0",
    )
    port = tls_port(r)
    warning = r.wait_line(lambda e: e.get("event") == "warning")
    assert "hello" in warning["message"] and "certificate" in warning["message"]
    assert r.request("hello.localhost")[0] == 200
    conn = SniConnection(port, "hello.localhost", unverified())
    try:
        assert conn.get("hello.localhost")[0] == 200
        assert conn.presented_name() == DEFAULT_NAME
    finally:
        conn.close()


def test_every_worker_serves_https_on_the_shared_port(backends, router, ca, tmp_path):
    """With several workers, each accepts TLS connections on the one announced port."""
    hello = backends("web.1")
    files = ca.issue_files(tmp_path / "hello", "hello.localhost")
    r = router(
        {"hello": {"backends": [hello.route()], "tls": tls_entry(*files, "hello.localhost")}},
        router_tls_bind="127.0.0.1:0",
        router_workers="3",
    )
    port = tls_port(r)
    for _ in range(3):
        r.wait_line(lambda e: e.get("event") == "routes")  # every worker has loaded the table
    for _ in range(12):
        conn = SniConnection(port, "hello.localhost", trusting(ca))
        try:
            assert conn.get("hello.localhost")[0] == 200
        finally:
            conn.close()
    assert len(hello.requests) == 12


def test_certificates_are_reused_until_their_files_change(ca, tmp_path):
    """A reload with unchanged files keeps the loaded context; a replaced file is loaded again."""
    cert, key = ca.issue_files(tmp_path / "hello", "hello.localhost", "*.hello.test")
    document = {"apps": {"hello": {"tls": tls_entry(cert, key, "hello.localhost", "*.hello.test")}}}
    certificates = Certificates(self_signed())
    table, _ = table_from_json(document, "localhost")
    assert certificates.update(table) == []
    first = certificates.context_for("hello.localhost")
    assert first is not certificates.default
    assert certificates.context_for("API.hello.test.") is first  # the wildcard, any case
    assert certificates.context_for("a.b.hello.test") is certificates.default
    assert certificates.context_for(None) is certificates.default
    certificates.update(table_from_json(document, "localhost")[0])
    assert certificates.context_for("hello.localhost") is first
    ca.issue_files(tmp_path / "hello", "hello.localhost")
    os.utime(cert, ns=(0, 1))  # a different modification time even within one clock tick
    certificates.update(table)
    assert certificates.context_for("hello.localhost") is not first
