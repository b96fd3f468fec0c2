"""The route table the daemon hands to the router: built from live processes, written atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from twelve.certs import StoredCert
from twelve.supervisor.manager import Backend


def route_table(
    version: int,
    backends: dict[str, list[Backend]],
    domains: list[tuple[str, str]],
    certs: Mapping[str, StoredCert] | None = None,
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
    for app in maintenance:
        apps.setdefault(app, {"domains": [], "backends": []})["maintenance"] = True
    return {"version": version, "apps": apps}


def write_atomically(path: Path, document: dict[str, Any]) -> None:
    """Write then rename, so a reader sees the old table or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document, sort_keys=True))
    os.replace(tmp, path)
