"""Any external service attached as-is by its URL (S3, SMTP, a managed database): pure helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from twelve.addons.naming import validate_external_url, var_for_url


@dataclass(frozen=True)
class External:
    """What twelve records of an attached URL: no resource of its own, just a variable."""

    url: str
    service: str  # the URL's scheme
    server: str  # host[:port], no credential
    config_var: str


def external(url: str, as_name: str | None) -> External:
    """Validate ``url`` and name its variable (``--as``, else from its scheme)."""
    text = validate_external_url(url)
    parts = urlsplit(text)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    server = f"{host}:{port}" if port else host
    return External(text, parts.scheme, server, var_for_url(text, as_name))


def name_stem(service: str) -> str:
    """A scheme as the first part of an add-on name: ``postgresql+psycopg`` → ``postgresql-psycopg``."""
    stem = re.sub(r"[^a-z0-9]+", "-", service.lower()).strip("-")
    return stem[:20] or "url"
