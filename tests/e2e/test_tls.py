"""HTTPS for an app: ``certs:add`` through the CLI, then the router serves it by SNI."""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from certmaker import TestCA
from support import EXAMPLES, Daemon, wait_for

pytestmark = pytest.mark.slow
HELLO = EXAMPLES / "hello-python"


def https_get(
    port: int, name: str, verify: ssl.SSLContext | bool, path: str = "/"
) -> httpx.Response:
    """GET over HTTPS to the local router, asking for ``name`` by SNI and in the Host header."""
    with httpx.Client(verify=verify, timeout=10) as client:
        return client.get(
            f"https://127.0.0.1:{port}{path}",
            headers={"Host": name},
            extensions={"sni_hostname": name},
        )


def presented(port: int, name: str) -> str:
    """The SHA-256 of the certificate the router presents for ``name``."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as sock,
    ):
        return hashlib.sha256(sock.getpeercert(binary_form=True) or b"").hexdigest()


def served_over_https(port: int, name: str, trusted: ssl.SSLContext) -> httpx.Response | None:
    """The app's answer once the router presents a certificate ``trusted`` accepts for ``name``."""
    try:
        response = https_get(port, name, trusted, "/over-tls")
    except httpx.ConnectError:  # still the default certificate: the table is being reloaded
        return None
    return response if response.status_code == 200 else None


def test_an_app_with_a_certificate_is_served_over_https_by_its_name(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    """certs:add, then a client that trusts only the app's CA gets the app's answer over HTTPS;
    HTTP keeps working; certs shows the certificate; certs:remove takes it away again."""
    d = make_daemon(TWELVE_ROUTER_TLS_BIND="127.0.0.1:0")
    endpoints = json.loads((d.home / "run" / "endpoints.json").read_text())
    tls_url = endpoints["router_tls_url"]
    assert tls_url.startswith("https://localhost:")
    port = int(tls_url.rpartition(":")[2])

    d.cli("apps:create", "hello")
    d.cli("deploy", "-a", "hello", str(HELLO))
    ca = TestCA()
    cert, key = ca.issue_files(tmp_path / "pem", "hello.localhost")
    out = d.cli("certs:add", "-a", "hello", str(cert), str(key)).stdout
    assert "Added a certificate for hello.localhost to hello" in out
    assert "covers none" not in out

    trusted = ssl.create_default_context(cadata=ca.pem.decode())
    response = wait_for(
        lambda: served_over_https(port, "hello.localhost", trusted), 20, "the app over HTTPS"
    )
    assert response.text == "hello from web.1\n"
    assert d.get("hello").text == "hello from web.1\n"  # plain HTTP, unchanged
    logs = d.cli("logs", "-a", "hello", "-n", "200").stdout
    assert 'path="/over-tls" host=hello.localhost' in logs

    listed = d.cli_json("certs", "-a", "hello")
    assert isinstance(listed, list) and listed[0]["hostnames"] == ["hello.localhost"]
    assert listed[0]["serves"] == ["hello.localhost"]
    assert "hello.localhost" in d.cli("certs", "-a", "hello").stdout

    stored = d.home / "certs" / "hello"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in stored.iterdir()} == {0o600}

    with_cert = presented(port, "hello.localhost")
    d.cli("certs:remove", "-a", "hello")
    wait_for(lambda: presented(port, "hello.localhost") != with_cert, 10, "the default cert")
    assert https_get(port, "hello.localhost", verify=False).text == "hello from web.1\n"
    assert "hello has no certificate" in d.cli("certs", "-a", "hello").stdout


def test_certs_add_refuses_a_bad_pair_in_one_line(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    """A key from another certificate, an expired certificate, or the files swapped: exit 1 with
    one line saying what is wrong, and nothing stored."""
    d = make_daemon(TWELVE_ROUTER_TLS_BIND="127.0.0.1:0")
    d.cli("apps:create", "hello")
    ca = TestCA()
    cert, _ = ca.issue_files(tmp_path / "one", "hello.localhost")
    _, other_key = ca.issue_files(tmp_path / "two", "hello.localhost")
    cases = [
        ((cert, other_key), "the private key does not belong to the certificate"),
        ((other_key, cert), "not a PEM certificate"),
        ((cert, HELLO / "app.py"), "is not a PEM private key file"),
    ]
    for (cert_arg, key_arg), message in cases:
        result = d.cli("certs:add", "-a", "hello", str(cert_arg), str(key_arg), check=False)
        assert result.returncode == 1
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    missing = d.cli("certs:add", "-a", "hello", str(tmp_path / "nope.pem"), str(cert), check=False)
    assert missing.returncode != 0
    assert not (d.home / "certs" / "hello").exists()
    # A certificate for a name the app does not route is taken, with a note on what to do.
    elsewhere, elsewhere_key = ca.issue_files(tmp_path / "three", "www.example.test")
    out = d.cli("certs:add", "-a", "hello", str(elsewhere), str(elsewhere_key)).stdout
    assert "covers none of hello's hostnames" in out and "domains:add" in out
