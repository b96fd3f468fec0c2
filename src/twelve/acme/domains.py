"""Which names an app's automatic certificate covers. Pure.

The app's custom domains (``domains:add``) that a public CA can validate over HTTP-01: lower case,
without a trailing dot, no wildcard (HTTP-01 cannot prove one), no IP address, nothing under
``localhost`` and not the platform's own ``APP.<TWELVE_DOMAIN>`` names, which a wildcard
certificate of the platform's owner covers better than one order per app.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

MAX_NAMES = 100  # Let's Encrypt's limit of names in one certificate
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def _eligible(name: str, platform_domain: str) -> bool:
    if name.startswith("*.") or len(name) > 253:
        return False
    try:
        ipaddress.ip_address(name)
        return False
    except ValueError:
        pass
    labels = name.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return False
    if name == "localhost" or name.endswith(".localhost"):
        return False
    platform = platform_domain.strip(".").lower()
    return not (platform and (name == platform or name.endswith("." + platform)))


def certificate_names(domains: Iterable[str], platform_domain: str) -> tuple[str, ...]:
    """The names to order, sorted, at most ``MAX_NAMES``."""
    names = {d.strip().lower().rstrip(".") for d in domains}
    return tuple(sorted(n for n in names if _eligible(n, platform_domain)))[:MAX_NAMES]


def skipped_names(domains: Iterable[str], platform_domain: str) -> tuple[str, ...]:
    """The app's domains that no automatic certificate will cover, for ``certs:auto`` to say."""
    kept = set(certificate_names(domains, platform_domain))
    return tuple(sorted({d.strip().lower().rstrip(".") for d in domains} - kept))


def needs_new_certificate(covered: Iterable[str], wanted: Iterable[str]) -> bool:
    """Whether a certificate covering ``covered`` must be replaced to cover exactly ``wanted``:
    a name added gets one, a name removed is dropped from the next one."""
    return {c.lower() for c in covered} != set(wanted)
