"""The router's own answers for an app (challenges, https-redirect), and their table entries."""

from __future__ import annotations

from twelve.router.edge import Edge, answer, edge_from_json, edge_json
from twelve.routes import edge_entries

CHALLENGE = b"/.well-known/acme-challenge/"
EDGE = Edge(
    {b"tok": b"tok.print"},
    acme=True,
    redirect_port=8443,
    hsts=b"max-age=60",
    alpn={"a.test": bytes(range(32))},
)


def test_a_known_token_gets_its_key_authorization_and_any_other_a_404() -> None:
    found = answer(EDGE, CHALLENGE + b"tok", b"http", b"a.test")
    assert found is not None and found.status == 200 and found.body == b"tok.print"
    response = found.response(b"rid", close=False)
    assert response.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 9\r\n" in response and response.endswith(b"\r\n\r\ntok.print")
    for path in (b"other", b"tok/..", b"", b"tok%00"):
        refused = answer(EDGE, CHALLENGE + path, b"https", b"a.test")
        assert refused is not None and refused.status == 404


def test_challenge_paths_pass_to_the_app_when_it_has_no_acme_and_no_challenge() -> None:
    assert answer(Edge({}, redirect_port=443), CHALLENGE + b"x", b"https", b"a.test") is None


def test_plain_http_is_redirected_with_the_port_only_when_not_443() -> None:
    found = answer(EDGE, b"/p?q=1", b"http", b"a.test:80")
    assert found is not None and found.status == 308
    assert "Location: https://a.test:8443/p?q=1\r\n" in found.headers
    assert "Strict-Transport-Security: max-age=60\r\n" in found.headers
    plain = Edge({}, redirect_port=443)
    found = answer(plain, b"/", b"http", b"a.test")
    assert found is not None and "Location: https://a.test/\r\n" in found.headers
    assert answer(plain, b"/", b"https", b"a.test") is None


def test_the_table_entry_round_trips_and_bad_ones_are_refused() -> None:
    assert edge_from_json(edge_json(EDGE)) == (EDGE, None)
    for raw in (
        [],
        {"challenges": {"bad token": "x"}},
        {"challenges": [], "redirect_port": 1},
        {"redirect_port": 70000},
        {"redirect_port": True},
        {"hsts": "max-age=1\r\nX: y"},
        {"alpn": {"a.test": "00"}},  # not a SHA-256 digest
        {"alpn": {"A Test": "00" * 32}},
        {"alpn": []},
    ):
        edge, problem = edge_from_json(raw)
        assert edge is None and problem


def test_entries_only_for_apps_that_need_one_and_https_features_need_tls() -> None:
    features = {"red": {"https-redirect": True, "hsts": 600}, "off": {}}
    alpn = {"tls": {"a.tls.test": "ab" * 32}}
    entries = edge_entries(features, ["auto"], {"auto": {"t": "t.k"}}, 8443, alpn)
    nothing: dict[str, str] = {}
    assert entries == {
        "auto": {
            "challenges": {"t": "t.k"},
            "alpn": nothing,
            "acme": True,
            "redirect_port": 0,
            "hsts": "",
        },
        "red": {
            "challenges": nothing,
            "alpn": nothing,
            "acme": False,
            "redirect_port": 8443,
            "hsts": "max-age=600",
        },
        "tls": {
            "challenges": nothing,
            "alpn": {"a.tls.test": "ab" * 32},
            "acme": False,
            "redirect_port": 0,
            "hsts": "",
        },
    }
    assert edge_entries(features, [], {}, 0) == {}
