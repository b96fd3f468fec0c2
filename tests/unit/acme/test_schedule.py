"""When a certificate renews and when a failed order is tried again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twelve.acme.schedule import RETRY_CAP, renew_at, retry_at, retry_delay

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_renewal_starts_with_a_third_of_the_lifetime_left() -> None:
    assert renew_at(T0, T0 + timedelta(days=90)) == T0 + timedelta(days=60)
    assert renew_at(T0, T0 + timedelta(minutes=3)) == T0 + timedelta(minutes=2)


def test_the_cas_renewal_window_wins_only_when_it_is_earlier() -> None:
    end = T0 + timedelta(days=90)
    assert renew_at(T0, end, T0 + timedelta(days=10)) == T0 + timedelta(days=10)
    assert renew_at(T0, end, T0 + timedelta(days=80)) == T0 + timedelta(days=60)


def test_retries_double_up_to_a_cap() -> None:
    base = timedelta(seconds=2)
    assert [retry_delay(n, base).total_seconds() for n in range(5)] == [0, 2, 4, 8, 16]
    assert retry_delay(50) == RETRY_CAP


def test_a_retry_never_waits_past_the_certificates_expiry() -> None:
    expires = T0 + timedelta(minutes=30)
    at = retry_at(T0, 10, expires)  # 512 minutes of backoff would let it expire quietly
    assert T0 < at < expires
    assert retry_at(T0, 1, None) == T0 + timedelta(minutes=1)
