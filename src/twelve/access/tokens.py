"""API tokens and invitation codes: made random, stored only as hashes, with lifetimes. Pure."""

from __future__ import annotations

import hashlib
import re
import secrets

from twelve.errors import UsageError

TOKEN_PREFIX = "twelve_"  # noqa: S105 (a prefix that says what a leaked string is)
INVITATION_LIFETIME = 24 * 3600.0
_DURATION = re.compile(r"^(\d{1,6})([mhdw])$")
_UNIT = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def new_token() -> str:
    """A token to hand to a user once; only its hash is kept."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    """The public name of a token, shown in listings and used to revoke it."""
    return secrets.token_hex(4)


def new_invitation() -> str:
    """A one-time code a new user exchanges for a token."""
    return secrets.token_urlsafe(18)


def digest(secret: str) -> str:
    """The stored form of a token or code: they are random, so one SHA-256 suffices."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_duration(text: str) -> float:
    """Seconds in ``30d``, ``12h``, ``90m`` or ``2w``."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise UsageError(f"{text!r} is not a lifetime", "for example 30d, 12h, 90m or 2w")
    return float(int(match.group(1)) * _UNIT[match.group(2)])


def is_live(expires_at: float | None, revoked_at: float | None, now: float) -> bool:
    """Whether a token or invitation may still be used at ``now``."""
    return revoked_at is None and (expires_at is None or now < expires_at)
