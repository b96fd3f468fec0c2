"""When a failed delivery is tried again, and when it is given up. Pure: the time is given."""

from __future__ import annotations

from typing import Final

GIVE_UP_AFTER: Final = 24 * 3600.0  # seconds from the event
MAX_DELAY: Final = 3600.0


def next_attempt(attempts: int, created_at: float, now: float, base: float) -> float | None:
    """The time of the next try after ``attempts`` failed ones (the delay doubles from ``base``
    to an hour), or None once that would be past 24 hours from the event."""
    delay: float = min(base * 2.0 ** max(0, attempts - 1), MAX_DELAY)
    at = now + delay
    if at > created_at + GIVE_UP_AFTER:
        return None
    return at
