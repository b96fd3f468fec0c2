"""The route table the daemon hands to the router: built from live processes, written atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from twelve.certs import StoredCert
from twelve.features import HSTS, HTTPS_REDIRECT
from twelve.values import Backend


def route_table(
    version: int,
    backends: dict[str, list[Backend]],
    domains: list[tuple[str, str]],
    certs: Mapping[str, StoredCert] | None = None,
    edges: Mapping[str, dict[str, Any]] | None = None,
    maintenance: Collection[str] = (),
) -> dict[str, Any]:
    """The router's JSON document (see twelve.router): apps with their domains and backends,
    for apps with a certificate, its files and hostnames under ``tls``, and ``maintenance`` for
    apps whose requests answer H80 for now. Pure."""
    apps: dict[str, Any] = {
        app: {
            "domains": [],
            "backends": [{"dyno": b.dyno, "host": "127.0.0.1", "port": b.port} for b in found],
        }
        for app, found in backends.items()
    }
    for hostname, app in domains:
        apps.setdefault(app, {"domains": [], "backends": []})["domains"].append(hostname)
    for app, cert in (certs or {}).items():
        apps.setdefault(app, {"domains": [], "backends": []})["tls"] = {
            "cert": str(cert.cert_path),
            "key": str(cert.key_path),
            "hostnames": list(cert.info.hostnames),
        }
    for app, edge in (edges or {}).items():
        apps.setdefault(app, {"domains": [], "backends": []})["edge"] = edge
    for app in maintenance:
        apps.setdefault(app, {"domains": [], "backends": []})["maintenance"] = True
    return {"version": version, "apps": apps}


def edge_entries(
    features: Mapping[str, Mapping[str, Any]],
    acme_apps: Iterable[str],
    challenges: Mapping[str, Mapping[str, str]],
    tls_port: int,
    alpn: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Each app's ``edge`` entry (see twelve.router.edge): the HTTP-01 answers of its order under
    way, or its TLS-ALPN-01 ones (``alpn``: domain -> digest), whether challenge paths are the
    router's (automatic certificates on), and its https-redirect and HSTS, which need the router
    to serve HTTPS (``tls_port``). Pure."""
    acme = set(acme_apps)
    alpn = alpn or {}
    entries: dict[str, dict[str, Any]] = {}
    for app in sorted(set(features) | acme | set(challenges) | set(alpn)):
        wanted = features.get(app, {})
        max_age = wanted.get(HSTS)
        entry = {
            "challenges": dict(challenges.get(app, {})),
            "alpn": dict(alpn.get(app, {})),
            "acme": app in acme,
            "redirect_port": tls_port if tls_port and wanted.get(HTTPS_REDIRECT) else 0,
            "hsts": f"max-age={int(max_age)}" if tls_port and max_age is not None else "",
        }
        if any(entry[k] for k in ("challenges", "alpn", "acme", "redirect_port", "hsts")):
            entries[app] = entry
    return entries


def write_atomically(path: Path, document: dict[str, Any]) -> None:
    """Write then rename, so a reader sees the old table or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document, sort_keys=True))
    os.replace(tmp, path)
