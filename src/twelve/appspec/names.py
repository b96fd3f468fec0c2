"""Validation of names that become paths, hostnames and process labels."""

from __future__ import annotations

import re

from twelve.errors import UsageError

# App names become DNS labels (APP.DOMAIN) and directory names: keep them to one safe DNS label.
_APP = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
# Process types as Heroku allows them: letters, digits, underscores and dashes.
_PROCESS_TYPE = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
# Config keys must be usable as environment variable names.
_CONFIG_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def validate_app_name(name: str) -> str:
    """Return ``name`` if it is a valid app name, else raise a UsageError saying the rule."""
    if not _APP.match(name) or name.endswith("-") or "--" in name:
        raise UsageError(
            f"invalid app name {name!r}",
            "use 1-30 lowercase letters, digits and single dashes, starting with a letter",
        )
    return name


def validate_process_type(name: str) -> str:
    """Return ``name`` if it is a valid Procfile process type."""
    if not _PROCESS_TYPE.match(name):
        raise UsageError(
            f"invalid process type {name!r}",
            "use letters, digits, underscores and dashes",
        )
    return name


def validate_config_key(key: str) -> str:
    """Return ``key`` if it can be an environment variable name."""
    if not _CONFIG_KEY.match(key):
        raise UsageError(
            f"invalid config key {key!r}",
            "use letters, digits and underscores, not starting with a digit",
        )
    return key


def validate_domain(name: str) -> str:
    """Return ``name`` lowercased if it is a valid hostname (no port, no wildcard)."""
    host = name.strip().lower().rstrip(".")
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_DOMAIN_LABEL.match(p) for p in labels):
        raise UsageError(f"invalid domain {name!r}", "use a hostname such as www.example.com")
    return host
