"""The route table: which app answers which Host, and the web processes behind it. Pure.

The daemon writes the table as JSON (``{"version": 3, "apps": {"hello": {"domains": [...],
"backends": [{"dyno": "web.1", "host": "127.0.0.1", "port": 5001}], "tls": {"cert": PATH,
"key": PATH, "hostnames": [...]}, "edge": {...}}}}``, ``tls`` only for an app with a certificate,
``edge`` only for one whose requests the router may answer itself, see ``edge``); every router
worker parses it into one immutable ``RouteTable`` and swaps its reference in one assignment, so a
request sees either the old table or the new one, never a mix. Requests keep the ``Route`` they
started with, so in-flight requests to a process that left the table still finish.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from twelve.router.edge import Edge, edge_from_json, edge_json

_APP = re.compile(r"[a-z][a-z0-9-]{0,29}")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_DYNO = re.compile(r"[A-Za-z0-9_.-]{1,80}")


class TableError(ValueError):
    """The route table file cannot be read as a table at all."""


@dataclass(frozen=True, slots=True)
class Backend:
    """One web process: its dyno name and the address it listens on."""

    dyno: str
    host: str
    port: int
    # Derived once, read on every request: the pool's key and the access line's dyno field.
    address: tuple[str, int] = field(init=False, repr=False, compare=False)
    key: str = field(init=False, repr=False, compare=False)  # the upstream pool's name for it
    dyno_log: bytes = field(init=False, repr=False, compare=False)
    numeric: bool = field(init=False, repr=False, compare=False)  # the host is an IP address

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", (self.host, self.port))
        object.__setattr__(self, "numeric", _is_ip(self.host))
        object.__setattr__(self, "key", backend_key(self.host, self.port))
        object.__setattr__(self, "dyno_log", self.dyno.encode())


def _is_ip(host: str) -> bool:
    """Whether ``host`` is an IPv4 or IPv6 address, as ``_streams.c`` reads one (inet_pton)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return True
    return False


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """An app's certificate: the PEM files the router loads and the hostnames the cert covers."""

    cert: str
    key: str
    hostnames: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    """An app and its web processes, in the order the daemon gave them."""

    app: str
    backends: tuple[Backend, ...]
    domains: tuple[str, ...] = ()
    tls: TlsFiles | None = None
    edge: Edge | None = None  # what the router answers itself for this app (``edge``)
    maintenance: bool = False  # every request answers H80 (a backup restore is under way)
    # The app's name as the access line's JSON value (app names need no escaping).
    app_json: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "app_json", b'"%b"' % self.app.encode())

    def rotation(self, turn: int) -> tuple[Backend, ...]:
        """The backends to try, from the one ``turn`` names (modulo their count) on, then the
        others in order.

        The first element is the choice (see ``pool.least_busy``); the rest are the fallbacks
        tried when a connection cannot be made (a request never sent is safe to send elsewhere).
        """
        backends = self.backends
        count = len(backends)
        if count <= 1:
            return backends
        start = turn % count
        return backends[start:] + backends[:start]


@dataclass(frozen=True)
class RouteTable:
    """Every app's route, indexed by the hostnames that reach it."""

    version: int = 0
    routes: Mapping[str, Route] = field(default_factory=lambda: MappingProxyType({}))
    hosts: Mapping[str, Route] = field(default_factory=lambda: MappingProxyType({}))

    def lookup(self, host_header: str) -> Route | None:
        """The route for a ``Host`` header value (any case, with or without a port), or None."""
        return self.hosts.get(normalise_host(host_header))

    def addresses(self) -> frozenset[tuple[str, int]]:
        """Every backend address in the table."""
        return frozenset(b.address for r in self.routes.values() for b in r.backends)

    def backends(self) -> list[Backend]:
        """Every app's backends (the upstream pool retires the others)."""
        return [b for r in self.routes.values() for b in r.backends]

    def to_json(self) -> dict[str, Any]:
        """The JSON form the daemon writes; ``table_from_json(t.to_json(), d)`` gives ``t`` back."""
        return {
            "version": self.version,
            "apps": {name: _route_json(route) for name, route in sorted(self.routes.items())},
        }


def _route_json(route: Route) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "domains": list(route.domains),
        "backends": [{"dyno": b.dyno, "host": b.host, "port": b.port} for b in route.backends],
    }
    if route.tls is not None:
        tls = route.tls
        entry["tls"] = {"cert": tls.cert, "key": tls.key, "hostnames": list(tls.hostnames)}
    if route.edge is not None:
        entry["edge"] = edge_json(route.edge)
    if route.maintenance:
        entry["maintenance"] = True
    return entry


def backend_key(host: str, port: int) -> str:
    """How the upstream pool names a backend: a string, cheap to hash on every request."""
    return f"{host}:{port}"


def normalise_host(value: str) -> str:
    """``Hello.Example.com:8080`` -> ``hello.example.com`` (an IPv6 literal never names an app)."""
    host = value.strip().lower()
    colon = host.find(":")
    if colon >= 0:
        host = host[:colon]
    return host[:-1] if host.endswith(".") else host


def _domain(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    host = value.strip().lower().rstrip(".")
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(p) for p in labels):
        return None
    return host


def _tls(app: str, raw: object, warnings: list[str]) -> TlsFiles | None:
    """The ``tls`` entry of an app; a bad one is dropped with a warning (HTTP still routes)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        warnings.append(f"app {app}: tls is not an object; serving it without")
        return None
    cert, key, names = raw.get("cert"), raw.get("key"), raw.get("hostnames", [])
    if not isinstance(cert, str) or not isinstance(key, str) or not _absolute(cert, key):
        warnings.append(f"app {app}: tls needs absolute cert and key paths; serving it without")
        return None
    if not isinstance(names, list):
        warnings.append(f"app {app}: tls hostnames must be a list; serving it without")
        return None
    hostnames: list[str] = []
    for name in names:
        wildcard = isinstance(name, str) and name.startswith("*.")
        host = _domain(name[2:] if wildcard else name)
        if host is None:
            warnings.append(f"app {app}: invalid tls hostname {name!r}; skipped")
        elif (full := f"*.{host}" if wildcard else host) not in hostnames:
            hostnames.append(full)
    return TlsFiles(cert, key, tuple(hostnames))


def _absolute(*paths: str) -> bool:
    return all(p.startswith("/") and "\0" not in p for p in paths)


def _backend(app: str, raw: object, warnings: list[str]) -> Backend | None:
    if not isinstance(raw, dict):
        warnings.append(f"app {app}: a backend is not an object; skipped")
        return None
    dyno, host, port = raw.get("dyno"), raw.get("host"), raw.get("port")
    if not isinstance(dyno, str) or not _DYNO.fullmatch(dyno):
        warnings.append(f"app {app}: backend has no valid dyno name; skipped")
        return None
    if not isinstance(host, str) or not host or any(c in host for c in " /\r\n"):
        warnings.append(f"app {app}: backend {dyno} has no valid host; skipped")
        return None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port <= 65535:
        warnings.append(f"app {app}: backend {dyno} has no valid port; skipped")
        return None
    return Backend(dyno, host, port)


def table_from_json(data: object, domain: str) -> tuple[RouteTable, list[str]]:
    """Build a table from the daemon's JSON value; return it with warnings about skipped entries.

    A wrong top-level shape raises ``TableError``; a bad app, domain or backend is skipped with a
    warning so one bad entry never takes the other apps offline. ``APP.<domain>`` always belongs to
    APP; a custom domain claimed by two apps goes to the first in name order.
    """
    if not isinstance(data, dict):
        raise TableError("the route table is not a JSON object")
    version = data.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise TableError("the route table's version is not a whole number")
    apps = data.get("apps", {})
    if not isinstance(apps, dict):
        raise TableError("the route table's apps is not an object")
    domain = domain.strip(".").lower()
    warnings: list[str] = []
    routes: dict[str, Route] = {}
    for name in sorted(apps):
        entry = apps[name]
        if not isinstance(name, str) or not _APP.fullmatch(name):
            warnings.append(f"app {name!r}: not a valid app name; skipped")
            continue
        if not isinstance(entry, dict):
            warnings.append(f"app {name}: not an object; skipped")
            continue
        raw_backends = entry.get("backends", [])
        raw_domains = entry.get("domains", [])
        if not isinstance(raw_backends, list) or not isinstance(raw_domains, list):
            warnings.append(f"app {name}: backends and domains must be lists; skipped")
            continue
        backends = [b for raw in raw_backends if (b := _backend(name, raw, warnings))]
        domains: list[str] = []
        for raw in raw_domains:
            host = _domain(raw)
            if host is None:
                warnings.append(f"app {name}: invalid domain {raw!r}; skipped")
            elif host not in domains:
                domains.append(host)
        tls = _tls(name, entry.get("tls"), warnings)
        edge, problem = edge_from_json(entry.get("edge"))
        if problem is not None:
            warnings.append(f"app {name}: {problem}; serving it without")
        maintenance = entry.get("maintenance") is True
        routes[name] = Route(name, tuple(backends), tuple(domains), tls, edge, maintenance)
    hosts: dict[str, Route] = {f"{name}.{domain}": route for name, route in routes.items()}
    for name, route in routes.items():
        for host in route.domains:
            owner = hosts.get(host)
            if owner is not None and owner.app != name:
                warnings.append(f"app {name}: domain {host} already routes to {owner.app}; skipped")
                continue
            hosts[host] = route
    table = RouteTable(version, MappingProxyType(routes), MappingProxyType(hosts))
    return table, warnings


def parse_table(text: str | bytes, domain: str) -> tuple[RouteTable, list[str]]:
    """Parse the route table file's text; raise ``TableError`` when it is not valid JSON."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TableError(f"the route table is not valid JSON: {exc}") from None
    return table_from_json(data, domain)
