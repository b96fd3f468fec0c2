"""When to renew a certificate and when to try again after a failure. Pure: the clock is given.

Renewal starts once a third of the certificate's lifetime is left (at 60 of Let's Encrypt's 90
days), or earlier when the CA's renewal information (ACME ARI) suggests a window that starts
sooner. Failures are retried with a doubling delay up to a cap, so a CA that refuses is asked
again within hours, never hammered, and never forgotten until the certificate expires; a CA's
``Retry-After`` is a floor no try goes under. The renewal information is asked for again when the
CA's ``Retry-After`` says, and at least daily (RFC 9773 section 4.3.3).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

RENEW_FRACTION_LEFT = 1 / 3
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=6)
ARI_MAX_WAIT = timedelta(days=1)  # renewal information is asked for again at least this often
ARI_MIN_WAIT = timedelta(minutes=1)  # however soon the CA says (a CA's mistake costs no flood)


def renew_at(
    not_before: datetime, not_after: datetime, ari_start: datetime | None = None
) -> datetime:
    """When to start renewing: one third of the lifetime before expiry, or ARI's start if earlier."""
    lifetime = not_after - not_before
    due = not_after - lifetime * RENEW_FRACTION_LEFT
    if ari_start is not None and ari_start < due:
        return ari_start
    return due


def retry_delay(
    failures: int, base: timedelta = RETRY_BASE, cap: timedelta = RETRY_CAP
) -> timedelta:
    """How long to wait after the ``failures``-th failure in a row (1, 2, 4... times ``base``)."""
    if failures <= 0:
        return timedelta(0)
    steps = min(failures - 1, 30)  # past 2**30 times any base is over any sensible cap
    delay: timedelta = base * (2**steps)
    return min(delay, cap)


def retry_at(
    now: datetime,
    failures: int,
    not_after: datetime | None,
    base: timedelta = RETRY_BASE,
    cap: timedelta = RETRY_CAP,
) -> datetime:
    """The next try after a failure: backed off, but never after the current certificate expires
    (a last try just before expiry is still worth it)."""
    at = now + retry_delay(failures, base, cap)
    if not_after is not None and now < not_after < at:
        return max(now + base, not_after - base)
    return at


def retry_after_at(value: str | None, now: datetime) -> datetime | None:
    """The time an HTTP ``Retry-After`` value names (seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return now + timedelta(seconds=int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def renewal_time_in(
    window: tuple[datetime, datetime], kept: datetime | None, draw: float
) -> datetime:
    """The time to renew within the CA's suggested window: the one picked before while it still
    falls in the window, else a uniformly random one (``draw`` in [0, 1)), as RFC 9773 asks so
    that renewals spread over the window rather than all coming at its start."""
    start, end = window
    if kept is not None and start <= kept <= end:
        return kept
    return start + (end - start) * draw


def ari_ask_again(now: datetime, suggested: datetime | None) -> datetime:
    """When to fetch renewal information again: when the CA said, within a minute and a day."""
    if suggested is None:
        return now + ARI_MAX_WAIT
    return min(max(suggested, now + ARI_MIN_WAIT), now + ARI_MAX_WAIT)
