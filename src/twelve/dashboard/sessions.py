"""Dashboard sessions: a random id in an HttpOnly cookie, the API token kept on the server side.

Each session has its own CSRF token, which every form that changes something must send back.
Sessions live in the daemon's memory: a restarted daemon asks everyone to log in again.
Time comes from a given clock, so expiry is tested without waiting.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

LIFETIME: Final = 12 * 3600.0  # seconds a session lasts from its login
MAX_SESSIONS: Final = 1000  # the oldest goes when one more logs in


@dataclass(frozen=True)
class Session:
    id: str
    token: str  # the API token the login gave: every API call of this session carries it
    user: str
    csrf: str
    expires_at: float


class Sessions:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._by_id: dict[str, Session] = {}

    def create(self, token: str, user: str) -> Session:
        if len(self._by_id) >= MAX_SESSIONS:
            oldest = min(self._by_id.values(), key=lambda s: s.expires_at)
            del self._by_id[oldest.id]
        session = Session(
            secrets.token_urlsafe(32),
            token,
            user,
            secrets.token_urlsafe(32),
            self.clock() + LIFETIME,
        )
        self._by_id[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id, or None (unknown, or expired: then forgotten)."""
        if not session_id:
            return None
        session = self._by_id.get(session_id)
        if session is None:
            return None
        if self.clock() >= session.expires_at:
            del self._by_id[session_id]
            return None
        return session

    def drop(self, session_id: str) -> None:
        self._by_id.pop(session_id, None)

    def drop_token(self, token: str) -> None:
        """Every session of a token (it was revoked, or refused by the API)."""
        for sid in [s.id for s in self._by_id.values() if s.token == token]:
            del self._by_id[sid]


def same(expected: str, given: str | None) -> bool:
    """A constant-time comparison of a CSRF token."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
