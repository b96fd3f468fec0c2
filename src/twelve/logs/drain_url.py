"""What a drain URL may be, and how it is shown in log lines. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from twelve.errors import UsageError

SCHEMES = ("syslog+tcp", "syslog+tls", "https", "http")
_DEFAULT_PORTS = {"https": 443, "http": 80}
_HINT = "use syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT or https://HOST/PATH"


@dataclass(frozen=True, slots=True)
class DrainTarget:
    """A validated drain: the URL as given, its scheme, host and port."""

    url: str
    scheme: str
    host: str
    port: int

    @property
    def is_syslog(self) -> bool:
        return self.scheme.startswith("syslog+")

    @property
    def uses_tls(self) -> bool:
        return self.scheme in ("syslog+tls", "https")

    @property
    def shown(self) -> str:
        """The URL without user info, query or fragment: safe to write into a log line."""
        return redact(self.url)


def parse_drain_url(url: str) -> DrainTarget:
    """Validate a drain URL; raise a UsageError that says what is wrong and what to use."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UsageError(f"drain URL {redact(text)!r} has an invalid port", _HINT) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"{scheme}://" if scheme else "no scheme"
        raise UsageError(f"drain URL {redact(text)!r} has {shown}, not a drain scheme", _HINT)
    host = parts.hostname
    if not host:
        raise UsageError(f"drain URL {redact(text)!r} has no host", _HINT)
    if port is None:
        if scheme not in _DEFAULT_PORTS:
            raise UsageError(f"drain URL {redact(text)!r} needs a port", _HINT)
        port = _DEFAULT_PORTS[scheme]
    return DrainTarget(text, scheme, host, port)


def redact(url: str) -> str:
    """``url`` without its user info, query string and fragment (they often hold tokens)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:  # user names of drain URLs are tokens as often as passwords are
            netloc = "***@" + netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<invalid URL>"
