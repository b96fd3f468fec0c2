"""IV Backing services: database, cache and broker URLs or hosts written in code."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from twelve.audit.jsindex import string_value
from twelve.audit.pyindex import str_value
from twelve.audit.scan import Scan

BACKING = "config.hardcoded-backing-service"
SERVICE_URL = re.compile(
    r"^(postgres(?:ql)?|mysql|mariadb|redis|rediss|amqps?|mongodb(?:\+srv)?|memcached?|nats|kafka|"
    r"elasticsearch|cockroachdb)(?:\+[a-z0-9]+)?://",
    re.IGNORECASE,
)
# A DNS name, an IPv4 address or a bare service name such as "db" or "redis".
HOST_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$")
LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1", "0.0.0.0", "*", "[::]", "::"})


def _service_url(value: str) -> tuple[str, str | None] | None:
    """The scheme and any embedded password of a backing-service URL with a host."""
    match = SERVICE_URL.match(value.strip())
    if not match:
        return None
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:
        return None
    if not host or not HOST_NAME.match(host):
        return None
    return match.group(1).lower(), parts.password


def backing_service(scan: Scan) -> None:
    """Database, cache and broker URLs (and ``HOST`` settings) written in code; env fallbacks are fine."""
    for file in scan.files("python"):
        index = scan.py(file)
        if index is None:
            continue
        for lit in index.strings:
            found = _service_url(lit.value)
            if found and lit.node_id not in index.fallback_ids:
                scan.report(
                    BACKING,
                    file.path,
                    lit.line,
                    f"a {found[0]} URL is written in code",
                    secret=found[1],
                )
        for binding in index.bindings:
            value = str_value(binding.value)
            if binding.name not in {"HOST", "host"} or value is None or value in LOCAL_HOSTS:
                continue
            if not HOST_NAME.match(value.lower()):
                continue
            if id(binding.value) not in index.fallback_ids and (
                "." in value or binding.name == "HOST"
            ):
                scan.report(
                    BACKING,
                    file.path,
                    binding.line,
                    f"the service host {value!r} is written in code",
                )
    for file in scan.files("js"):
        js = scan.js(file)
        if js is None:
            continue
        for jnode in js.strings:
            value = string_value(jnode)
            found = _service_url(value) if value else None
            if found and jnode.id not in js.fallback_ids:
                scan.report(
                    BACKING,
                    file.path,
                    jnode.start_point[0] + 1,
                    f"a {found[0]} URL is written in code",
                    secret=found[1],
                )


CHECKS = (backing_service,)
