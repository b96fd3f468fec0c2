"""Names Kubernetes accepts: process types and app names as DNS labels, config keys as env names."""

from __future__ import annotations

import re

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")
DNS_LABEL_MAX = 63


def dns_label(name: str, limit: int = DNS_LABEL_MAX) -> str:
    """``web_2`` → ``web-2``: lowercase letters, digits and dashes, starting and ending alphanumeric."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    label = re.sub(r"-{2,}", "-", label)[:limit].rstrip("-")
    return label or "x"


def label_mapping(process_types: list[str], limit: int = 32) -> dict[str, str]:
    """Each process type's label, at most ``limit`` characters; types that would collide get a
    numeric suffix (``worker_2`` and ``worker-2`` become ``worker-2`` and ``worker-2-2``).

    The default limit keeps ``APP-LABEL`` (app names have at most 30 characters) a DNS label."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for kind in process_types:
        candidate, n = dns_label(kind, limit), 2
        while candidate in used:
            suffix = f"-{n}"
            candidate = dns_label(kind, limit - len(suffix)) + suffix
            n += 1
        used.add(candidate)
        mapping[kind] = candidate
    return mapping


def invalid_env_names(config: dict[str, str]) -> list[str]:
    """Config keys that are not portable environment variable names (a cluster may skip them)."""
    return sorted(k for k in config if not _ENV_NAME.fullmatch(k))


def invalid_secret_keys(config: dict[str, str]) -> list[str]:
    """Config keys a Secret cannot hold at all."""
    return sorted(k for k in config if not _SECRET_KEY.fullmatch(k))
