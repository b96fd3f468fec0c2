"""An app's certificate in the route table: what the daemon writes, what the router reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from twelve.certs import CertInfo, StoredCert
from twelve.router.table import TlsFiles, parse_table, table_from_json
from twelve.routes import route_table
from twelve.values import Backend

TLS = {"cert": "/home/certs/hello/cert.pem", "key": "/home/certs/hello/key.pem"}


def parse(apps: dict[str, object]) -> tuple[dict[str, TlsFiles | None], list[str]]:
    table, warnings = table_from_json({"version": 1, "apps": apps}, "localhost")
    return {name: route.tls for name, route in table.routes.items()}, warnings


def test_an_apps_certificate_files_and_hostnames_are_read_from_the_table():
    tls, warnings = parse(
        {"hello": {"tls": {**TLS, "hostnames": ["Hello.Example.com", "*.example.com"]}}}
    )
    assert warnings == []
    assert tls["hello"] == TlsFiles(TLS["cert"], TLS["key"], ("hello.example.com", "*.example.com"))


def test_an_app_without_tls_has_none_and_older_tables_still_parse():
    tls, warnings = parse({"hello": {"backends": []}})
    assert tls == {"hello": None}
    assert warnings == []


def test_a_broken_tls_entry_is_dropped_with_a_warning_and_the_app_still_routes():
    for bad in (
        "yes",
        {"cert": "relative.pem", "key": TLS["key"]},
        {"cert": TLS["cert"]},
        {**TLS, "hostnames": "hello.example.com"},
    ):
        table, warnings = table_from_json({"apps": {"hello": {"tls": bad}}}, "localhost")
        assert table.lookup("hello.localhost") is not None
        assert table.routes["hello"].tls is None
        assert len(warnings) == 1 and "hello" in warnings[0], warnings


def test_an_invalid_certificate_hostname_is_skipped_and_the_rest_kept():
    tls, warnings = parse(
        {"hello": {"tls": {**TLS, "hostnames": ["ok.example.com", "bad name", 3]}}}
    )
    assert tls["hello"] is not None and tls["hello"].hostnames == ("ok.example.com",)
    assert len(warnings) == 2


def test_tls_survives_the_json_round_trip():
    table, _ = table_from_json(
        {"version": 2, "apps": {"hello": {"tls": {**TLS, "hostnames": ["a.example.com"]}}}},
        "localhost",
    )
    again, _ = parse_table(json.dumps(table.to_json()), "localhost")
    assert again == table


def stored(app: str, *hostnames: str) -> StoredCert:
    now = datetime.now(UTC)
    info = CertInfo(hostnames, now, now, "CN=test", "00")
    return StoredCert(app, Path(f"/h/certs/{app}/cert.pem"), Path(f"/h/certs/{app}/key.pem"), info)


def test_the_daemons_table_carries_each_certificate_and_the_router_reads_it():
    document = route_table(
        4,
        {"hello": [Backend("web.1", 5001)]},
        [("www.example.com", "hello")],
        {"hello": stored("hello", "www.example.com"), "idle": stored("idle", "idle.example.com")},
    )
    table, warnings = table_from_json(document, "localhost")
    assert warnings == []
    assert table.routes["hello"].tls == TlsFiles(
        "/h/certs/hello/cert.pem", "/h/certs/hello/key.pem", ("www.example.com",)
    )
    assert table.routes["hello"].backends[0].port == 5001
    # An app with a certificate and no process is still known over HTTPS (and answers 503).
    assert table.routes["idle"].backends == ()
    assert table.routes["idle"].tls is not None


def test_the_daemons_table_without_certificates_is_unchanged():
    args = (1, {"hello": [Backend("web.1", 5001)]}, [("www.example.com", "hello")])
    assert route_table(*args) == route_table(*args, {})
    assert "tls" not in route_table(*args)["apps"]["hello"]


def test_maintenance_goes_from_the_daemons_table_to_the_routers() -> None:
    document = route_table(1, {}, [], maintenance={"busy"})
    assert document["apps"]["busy"]["maintenance"] is True
    table, warnings = table_from_json(document, "localhost")
    assert warnings == []
    route = table.lookup("busy.localhost")
    assert route is not None and route.maintenance
    assert table.to_json()["apps"]["busy"]["maintenance"] is True
    plain, _ = table_from_json(route_table(2, {}, [("www.busy.test", "busy")]), "localhost")
    assert plain.routes["busy"].maintenance is False
