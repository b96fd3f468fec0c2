"""What the router answers itself for an app before its web processes see a request. Pure.

Four things, each on only for the apps the route table gives an ``edge`` entry:

- ACME HTTP-01 challenges (``/.well-known/acme-challenge/TOKEN``): the key authorization the
  platform published for that token, else 404; with automatic certificates on, no request for
  that path ever reaches the app, so an app cannot answer (or spoil) a challenge for its domain.
- ``https-redirect``: a plain-HTTP request gets 308 to the same URL over HTTPS (challenges
  excepted: a CA may validate over plain HTTP before the app has any certificate).
- HSTS: the ``Strict-Transport-Security`` value sent with the redirect; over HTTPS it is added
  to the app's responses by ``upstream`` (browsers ignore it over plain HTTP).
- ACME TLS-ALPN-01 challenges (``alpn``: domain -> SHA-256 of the key authorization): the TLS
  handshake for that name shows the validation certificate (``twelve.router.tls``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from twelve.router.codes import RouterError

CHALLENGE_PREFIX = b"/.well-known/acme-challenge/"
_TOKEN = re.compile(rb"[A-Za-z0-9_-]{1,256}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[a-z0-9.-]{1,253}")


@dataclass(frozen=True, slots=True)
class Edge:
    challenges: Mapping[bytes, bytes]  # token -> key authorization
    acme: bool = False  # challenge paths are the router's, even for unknown tokens
    redirect_port: int = 0  # the HTTPS port plain requests are redirected to (0: none)
    hsts: bytes = b""  # the Strict-Transport-Security value (b"": none)
    alpn: Mapping[str, bytes] = field(default_factory=dict)  # domain -> TLS-ALPN-01 digest


def answer(edge: Edge, url: bytes, proto: bytes, host: bytes) -> RouterError | None:
    """The router's own answer to a request for an app with ``edge``, or None to pass it on."""
    if url.startswith(CHALLENGE_PREFIX) and (edge.acme or edge.challenges):
        token = url[len(CHALLENGE_PREFIX) :]
        found = edge.challenges.get(token) if _TOKEN.fullmatch(token) else None
        if found is None:
            return RouterError("ACME", 404, "unknown challenge", _PLAIN, b"no such challenge\n")
        return RouterError("ACME", 200, "challenge", _PLAIN, found)
    if edge.redirect_port and proto == b"http":
        name = host.partition(b":")[0]
        port = b"" if edge.redirect_port == 443 else b":%d" % edge.redirect_port
        location = b"https://%b%b%b" % (name, port, url)
        extra = b"Location: %b\r\n" % location
        if edge.hsts:
            extra += b"Strict-Transport-Security: %b\r\n" % edge.hsts
        return RouterError("REDIRECT", 308, "https-redirect", extra.decode("latin-1"), b"")
    return None


_PLAIN = "Content-Type: text/plain\r\n"


def edge_from_json(raw: object) -> tuple[Edge | None, str | None]:
    """An app's ``edge`` entry of the route table, or a reason it is ignored."""
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        return None, "edge is not an object"
    challenges = raw.get("challenges", {})
    port, hsts = raw.get("redirect_port", 0), raw.get("hsts", "")
    if not isinstance(challenges, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and _TOKEN.fullmatch(k.encode("latin-1"))
        for k, v in challenges.items()
    ):
        return None, "edge challenges must map tokens to strings"
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        return None, "edge redirect_port must be a port"
    if not isinstance(hsts, str) or any(c in hsts for c in "\r\n\0"):
        return None, "edge hsts must be one header value"
    alpn = raw.get("alpn", {})
    if not isinstance(alpn, dict) or not all(
        isinstance(k, str) and _NAME.fullmatch(k) and isinstance(v, str) and _DIGEST.fullmatch(v)
        for k, v in alpn.items()
    ):
        return None, "edge alpn must map names to SHA-256 digests in hex"
    edge = Edge(
        {k.encode(): v.encode("latin-1") for k, v in challenges.items()},
        bool(raw.get("acme", False)),
        port,
        hsts.encode("latin-1"),
        {k: bytes.fromhex(v) for k, v in alpn.items()},
    )
    return edge, None


def edge_json(edge: Edge) -> dict[str, object]:
    return {
        "challenges": {k.decode(): v.decode("latin-1") for k, v in edge.challenges.items()},
        "acme": edge.acme,
        "redirect_port": edge.redirect_port,
        "hsts": edge.hsts.decode("latin-1"),
        "alpn": {k: v.hex() for k, v in edge.alpn.items()},
    }
