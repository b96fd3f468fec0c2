"""Names Kubernetes accepts: process types and app names as DNS labels, config keys as env names."""

from __future__ import annotations

import re

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def dns_label(name: str, limit: int = 63) -> str:
    """``web_2`` → ``web-2``: lowercase letters, digits and dashes, starting and ending alphanumeric."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    label = re.sub(r"-{2,}", "-", label)[:limit].rstrip("-")
    return label or "x"


def label_mapping(process_types: list[str]) -> dict[str, str]:
    """Each process type's label; two types that would collide get a numeric suffix."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for kind in process_types:
        label = dns_label(kind, 40)
        candidate, n = label, 2
        while candidate in used:
            candidate, n = f"{label}-{n}", n + 1
        used.add(candidate)
        mapping[kind] = candidate
    return mapping


def invalid_env_names(config: dict[str, str]) -> list[str]:
    """Config keys that a container cannot receive as environment variables."""
    return sorted(k for k in config if not _ENV_NAME.match(k))
