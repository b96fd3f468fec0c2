"""The route table as a value: parsing the daemon's JSON, host lookup, round robin."""

from __future__ import annotations

import json

import pytest

from twelve.router.table import Backend, Route, RouteTable, TableError, parse_table, table_from_json


def web(n: int) -> dict[str, object]:
    return {"dyno": f"web.{n}", "host": "127.0.0.1", "port": 5000 + n}


def table(apps: dict[str, object], domain: str = "localhost") -> RouteTable:
    result, warnings = table_from_json({"version": 3, "apps": apps}, domain)
    assert warnings == []
    return result


def test_an_app_is_found_by_its_hostname_in_any_case_and_with_a_port():
    t = table({"hello": {"backends": [web(1)]}})
    for host in ("hello.localhost", "HELLO.LocalHost", "hello.localhost:8080", "hello.localhost."):
        route = t.lookup(host)
        assert route is not None and route.app == "hello"


def test_custom_domains_reach_their_app():
    t = table({"hello": {"domains": ["www.Example.com"], "backends": [web(1)]}})
    assert t.lookup("www.example.com:443").app == "hello"  # type: ignore[union-attr]


def test_unknown_hosts_and_near_misses_find_nothing():
    t = table({"hello": {"backends": [web(1)]}}, domain="apps.test")
    for host in (
        "other.apps.test",
        "apps.test",
        "hello.apps.test.evil",
        "xhello.apps.test",
        "",
        "[::1]:80",
        "hello",
    ):
        assert t.lookup(host) is None


def test_the_table_keeps_the_version_and_backend_order():
    t = table({"hello": {"backends": [web(2), web(1)]}})
    assert t.version == 3
    assert [b.dyno for b in t.routes["hello"].backends] == ["web.2", "web.1"]
    assert t.addresses() == frozenset({("127.0.0.1", 5001), ("127.0.0.1", 5002)})


def test_json_round_trip_gives_the_same_table():
    t = table({"hello": {"domains": ["a.example.com"], "backends": [web(1), web(2)]}, "b": {}})
    again, _ = parse_table(json.dumps(t.to_json()), "localhost")
    assert again == t
    assert again.to_json()["apps"]["b"] == {"domains": [], "backends": []}


def test_round_robin_starts_at_each_backend_in_turn_and_lists_the_rest_as_fallbacks():
    route = Route(
        "hello", (Backend("web.1", "h", 1), Backend("web.2", "h", 2), Backend("web.3", "h", 3))
    )
    orders = [[b.dyno for b in route.rotation(turn)] for turn in range(4)]
    assert orders == [
        ["web.1", "web.2", "web.3"],
        ["web.2", "web.3", "web.1"],
        ["web.3", "web.1", "web.2"],
        ["web.1", "web.2", "web.3"],
    ]
    assert Route("empty", ()).rotation(5) == ()


@pytest.mark.parametrize(
    ("entry", "warning"),
    [
        ({"backends": [{"dyno": "web.1", "host": "127.0.0.1", "port": 0}]}, "no valid port"),
        ({"backends": [{"dyno": "web.1", "host": "127.0.0.1", "port": "80"}]}, "no valid port"),
        ({"backends": [{"dyno": "", "host": "127.0.0.1", "port": 80}]}, "no valid dyno"),
        ({"backends": [{"dyno": "web.1", "host": "", "port": 80}]}, "no valid host"),
        ({"backends": ["web.1"]}, "not an object"),
        ({"domains": ["not a domain"], "backends": []}, "invalid domain"),
        ({"backends": "web.1"}, "must be lists"),
    ],
)
def test_a_bad_entry_is_skipped_with_a_warning_and_the_rest_still_routes(entry, warning):
    t, warnings = table_from_json(
        {"apps": {"bad": entry, "good": {"backends": [web(1)]}}}, "localhost"
    )
    assert any(warning in w for w in warnings), warnings
    assert t.lookup("good.localhost") is not None


def test_an_invalid_app_name_is_skipped():
    t, warnings = table_from_json({"apps": {"Bad_Name": {}, "ok": {}}}, "localhost")
    assert list(t.routes) == ["ok"]
    assert "not a valid app name" in warnings[0]


def test_a_domain_claimed_twice_goes_to_one_app_only():
    t, warnings = table_from_json(
        {
            "apps": {
                "alpha": {"domains": ["shop.example.com"], "backends": [web(1)]},
                "beta": {"domains": ["shop.example.com", "alpha.localhost"], "backends": [web(2)]},
            }
        },
        "localhost",
    )
    assert t.lookup("shop.example.com").app == "alpha"  # type: ignore[union-attr]
    assert t.lookup("alpha.localhost").app == "alpha"  # type: ignore[union-attr]
    assert len(warnings) == 2


@pytest.mark.parametrize("text", ["", "{", "[]", '{"version": "1"}', '{"apps": []}', "null"])
def test_a_file_that_is_not_a_table_is_an_error(text):
    with pytest.raises(TableError):
        parse_table(text, "localhost")


def test_an_empty_table_routes_nothing():
    assert RouteTable().lookup("hello.localhost") is None
    assert RouteTable().addresses() == frozenset()


def test_only_a_backend_at_an_ip_address_is_numeric():
    """Numeric backends take the compiled router's own connections; the rest go through asyncio,
    which resolves names and scoped addresses."""
    for host, numeric in (
        ("127.0.0.1", True), ("::1", True), ("10.0.0.7", True), ("localhost", False),
        ("fe80::1%eth0", False), ("1.2.3", False), ("web-1.internal", False),
    ):  # fmt: skip
        assert Backend("web.1", host, 5000).numeric is numeric, host
