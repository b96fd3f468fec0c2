"""What the router answers itself for an app: ACME HTTP-01 challenges, https-redirect, HSTS."""

from __future__ import annotations

import json
import ssl
from typing import Any

from certmaker import TestCA
from integration.router.test_tls import SniConnection, tls_entry, tls_port

TOKEN = "tok_EN-123"
KEYAUTH = f"{TOKEN}.thumbprint"


def edge(**fields: Any) -> dict[str, Any]:
    return {"challenges": {}, "acme": False, "redirect_port": 0, "hsts": ""} | fields


def test_a_challenge_is_answered_by_the_router_and_never_reaches_the_app(backends, router):
    app = backends("web.1")
    other = backends("web.1")
    r = router(
        {
            "site": {
                "domains": ["www.site.test"],
                "backends": [app.route()],
                "edge": edge(challenges={TOKEN: KEYAUTH}, acme=True),
            },
            "other": {"backends": [other.route()]},
        }
    )
    status, headers, body = r.request("www.site.test", f"/.well-known/acme-challenge/{TOKEN}")
    assert (status, body) == (200, KEYAUTH.encode())
    assert headers["content-type"] == "text/plain"
    status, _, _ = r.request("www.site.test", "/.well-known/acme-challenge/unknown")
    assert status == 404
    status, _, _ = r.request("www.site.test", "/.well-known/acme-challenge/../../etc")
    assert status == 404
    assert app.requests == []  # none of them reached the app
    assert r.request("www.site.test", "/")[0] == 200
    assert len(app.requests) == 1
    # Another app without automatic certificates has its own /.well-known/ as before.
    assert r.request("other.localhost", f"/.well-known/acme-challenge/{TOKEN}")[0] == 200
    assert other.requests[0]["path"] == f"/.well-known/acme-challenge/{TOKEN}"
    line = r.access_line("acme-challenge")["line"]
    assert "at=info" in line and "status=200" in line


def test_challenges_on_a_kept_alive_connection_then_the_app(backends, router):
    app = backends("web.1")
    r = router({"site": {"backends": [app.route()], "edge": edge(challenges={TOKEN: KEYAUTH})}})
    conn = r.connect()
    try:
        for path in (f"/.well-known/acme-challenge/{TOKEN}", "/after", "/x"):
            conn.request("GET", path, headers={"Host": "site.localhost"})
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200
        assert json.loads(body)["path"] == "/x"
    finally:
        conn.close()
    assert [q["path"] for q in app.requests] == ["/after", "/x"]


def test_https_redirect_is_308_to_the_tls_port_with_challenges_excepted(backends, router, tmp_path):
    app = backends("web.1")
    ca = TestCA()
    cert, key = ca.issue_files(tmp_path / "pem", "www.site.test")
    r = router(
        {
            "site": {
                "domains": ["www.site.test"],
                "backends": [app.route()],
                "tls": tls_entry(cert, key, "www.site.test"),
                "edge": edge(
                    challenges={TOKEN: KEYAUTH}, acme=True, redirect_port=8443, hsts="max-age=600"
                ),
            }
        },
        router_tls_bind="127.0.0.1:0",
    )
    status, headers, _ = r.request("WWW.site.test:80", "/a/b?c=1", method="POST", body=b"x")
    assert status == 308
    assert headers["location"] == "https://WWW.site.test:8443/a/b?c=1"
    assert headers["strict-transport-security"] == "max-age=600"
    assert r.request("www.site.test", f"/.well-known/acme-challenge/{TOKEN}")[0] == 200
    assert app.requests == []
    conn = SniConnection(
        tls_port(r), "www.site.test", ssl.create_default_context(cadata=ca.pem.decode())
    )
    try:
        conn.request("GET", "/secure", headers={"Host": "www.site.test"})
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        assert response.getheader("Strict-Transport-Security") == "max-age=600"
    finally:
        conn.close()
    assert [q["path"] for q in app.requests] == ["/secure"]


def test_a_bad_edge_entry_is_dropped_with_a_warning_and_the_app_still_routes(backends, router):
    app = backends("web.1")
    r = router({"site": {"backends": [app.route()], "edge": edge(redirect_port="443")}})
    assert r.request("site.localhost", "/")[0] == 200
    r.wait_line(lambda e: "redirect_port" in json.dumps(e))


def test_a_challenge_asked_with_head_gets_its_headers_and_no_body(backends, router):
    """The key authorization's length, no bytes of it: the raw stream ends with the head."""
    app = backends("web.1")
    r = router({"site": {"backends": [app.route()], "edge": edge(challenges={TOKEN: KEYAUTH})}})
    path = f"/.well-known/acme-challenge/{TOKEN}".encode()
    raw = r.raw(b"HEAD " + path + b" HTTP/1.1\r\nHost: site.localhost\r\nConnection: close\r\n\r\n")
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and f"Content-Length: {len(KEYAUTH)}".encode() in head
    assert rest == b""
    assert app.requests == []
