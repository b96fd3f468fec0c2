"""Validation of names that become paths, hostnames and process labels.

Every pattern is applied with ``fullmatch``: ``re.match`` lets ``$`` match before a trailing
newline, which would admit ``"web\n"``.
"""

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


def checked_name(
    name: str, pattern: re.Pattern[str], what: str, rule: str, *, single_dashes: bool = False
) -> str:
    """Return ``name`` if ``pattern`` matches all of it (and, with ``single_dashes``, no dash ends
    it or follows another), else raise a UsageError saying ``what`` is invalid and the ``rule``."""
    dashes_wrong = single_dashes and (name.endswith("-") or "--" in name)
    if not pattern.fullmatch(name) or dashes_wrong:
        raise UsageError(f"invalid {what} {name!r}", rule)
    return name


def validate_app_name(name: str) -> str:
    """Return ``name`` if it is a valid app name, else raise a UsageError saying the rule."""
    rule = "use 1-30 lowercase letters, digits and single dashes, starting with a letter"
    return checked_name(name, _APP, "app name", rule, single_dashes=True)


def validate_process_type(name: str) -> str:
    """Return ``name`` if it is a valid Procfile process type."""
    rule = "use letters, digits, underscores and dashes"
    return checked_name(name, _PROCESS_TYPE, "process type", rule)


def validate_config_key(key: str) -> str:
    """Return ``key`` if it can be an environment variable name."""
    rule = "use letters, digits and underscores, not starting with a digit"
    return checked_name(key, _CONFIG_KEY, "config key", rule)


def validate_domain(name: str) -> str:
    """Return ``name`` lowercased if it is a valid hostname (no port, no wildcard)."""
    host = name.strip().lower().rstrip(".")
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(p) for p in labels):
        raise UsageError(f"invalid domain {name!r}", "use a hostname such as www.example.com")
    return host


# Transports a deploy may fetch from. Local paths and file:// are refused: they would reach the
# server's own files, other apps' repositories among them.
_GIT_SCHEMES = ("https://", "http://", "ssh://", "git://")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$")
_GIT_REF = re.compile(r"^[A-Za-z0-9._/^~@{}+-]{1,255}$")


def validate_git_url(url: str) -> str:
    """Return ``url`` if a deploy may fetch it: a remote git URL, never an option or local path."""
    remote = url.lower().startswith(_GIT_SCHEMES) or bool(_SCP_LIKE.fullmatch(url))
    if not remote or url.startswith("-") or any(c.isspace() or ord(c) < 32 for c in url):
        raise UsageError(
            "the git URL must be a remote https://, ssh://, git:// or user@host:path URL",
            "deploy a directory on this machine with 'twelve deploy PATH', which uploads it",
        )
    return url


def validate_git_ref(ref: str) -> str:
    """Return ``ref`` if it can name a branch, tag or commit (never an option)."""
    if not _GIT_REF.fullmatch(ref) or ref.startswith("-") or ".." in ref:
        raise UsageError(f"invalid git ref {ref[:60]!r}", "give a branch, tag or commit id")
    return ref
