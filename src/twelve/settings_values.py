"""How each ``TWELVE_*`` value is read: one parser per kind of value, each naming its variable in
the error it raises. ``twelve.settings`` reads the variables with them."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from twelve.errors import ConfigError, UsageError

T = TypeVar("T")


@dataclass(frozen=True)
class Bind:
    """A host and port to listen on; port 0 lets the kernel choose."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_bind(name: str, value: str) -> Bind:
    """Parse ``HOST:PORT`` (``[::1]:PORT`` for IPv6) or a bare port."""
    text = value.strip()
    if text.isascii() and text.isdigit():
        host, port_text = "127.0.0.1", text
    elif text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ConfigError(f"{name}={value!r} is not HOST:PORT", "for example 127.0.0.1:8080")
    # isascii: "²" counts as a digit to isdigit() but not to int().
    if not (port_text.isascii() and port_text.isdigit()) or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f"{name}={value!r} has no valid port", "use a port from 0 to 65535")
    return Bind(host or "127.0.0.1", int(port_text))


def parse_size(name: str, value: str) -> int:
    """Parse a byte size such as ``512``, ``10K``, ``10MiB`` or ``1G`` (powers of 1024)."""
    text = value.strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    factor = units.get(text[-1:], 1)
    digits = text[:-1] if text[-1:] in units else text
    try:
        number = float(digits)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a size", "for example 10M or 1048576") from None
    if number < 0:
        raise ConfigError(f"{name}={value!r} must not be negative")
    return int(number * factor)


def seconds(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(
            f"{name}={value!r} is not a number of seconds", "for example 30"
        ) from None
    if number < 0:
        raise ConfigError(f"{name}={value!r} must not be negative")
    return number


def integer(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number") from None
    if number < 0:
        raise ConfigError(f"{name}={value!r} must not be negative")
    return number


def flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean", "use 1 or 0")


def acme_challenge(name: str, value: str) -> str:
    """How the CA validates a name: ``http-01`` on the plain port, or ``tls-alpn-01`` on the TLS
    port (for servers that only 443 reaches)."""
    lowered = value.strip().lower()
    if lowered not in ("http-01", "tls-alpn-01"):
        raise ConfigError(f"{name}={value!r} is not a challenge type", "use http-01 or tls-alpn-01")
    return lowered


def libraries(name: str, value: str) -> tuple[str, ...]:
    """Shared libraries, by absolute path, separated by ``:`` or spaces (as ``LD_PRELOAD``)."""
    paths = tuple(value.replace(":", " ").split())
    for path in paths:
        if not (os.path.isabs(path) and os.path.isfile(path)):
            raise ConfigError(
                f"{name} names {path!r}, which is not a file",
                "give absolute paths, e.g. the one `gcc -print-file-name=libasan.so` prints",
            )
    return paths


def drain_url(name: str, value: str) -> str | None:
    from twelve.logs.drain_url import parse_drain_url  # noqa: PLC0415 (keeps settings light)

    try:
        return parse_drain_url(value).url
    except UsageError as exc:
        raise ConfigError(f"{name}: {exc.message}", exc.hint) from None


def backup_url(name: str, value: str) -> str:
    """A directory (absolute) or ``s3://BUCKET/PREFIX``, checked at start, not at the first backup."""
    from twelve.backups.storage import check_url  # noqa: PLC0415 (keeps settings light)

    check_url(name, value)
    return value


class Reader:
    """Reads one variable at a time, casting it and naming it in errors."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def get(self, name: str, cast: Callable[[str, str], T], default: T) -> T:
        raw = self.environ.get(name)
        if raw is None or raw == "":
            return default
        return cast(name, raw)

    def text(self, name: str, default: str) -> str:
        return self.get(name, lambda _n, v: v, default)

    def optional(self, name: str) -> str | None:
        raw = self.environ.get(name)
        return raw if raw else None


def time_zone(name: str, value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415

    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name}={value!r} is not a time zone", "for example UTC or Europe/Paris"
        ) from None
    return value.strip()
