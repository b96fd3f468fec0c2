"""The retry schedule of a failed delivery, signatures, and alert thresholds: pure decisions."""

from __future__ import annotations

import pytest

from twelve.errors import UsageError
from twelve.webhooks.alerts import judge, parse_threshold
from twelve.webhooks.schedule import GIVE_UP_AFTER, MAX_DELAY, next_attempt
from twelve.webhooks.signing import sign, verify


def test_retries_double_to_an_hour_and_stop_after_a_day():
    created = 1000.0
    now = created
    delays = []
    attempts = 0
    while True:
        attempts += 1
        later = next_attempt(attempts, created, now, base=5.0)
        if later is None:
            break
        delays.append(later - now)
        now = later
    assert delays[:5] == [5.0, 10.0, 20.0, 40.0, 80.0]
    assert max(delays) == MAX_DELAY
    assert now <= created + GIVE_UP_AFTER
    assert now + MAX_DELAY > created + GIVE_UP_AFTER  # the next would be past the day
    assert 25 < attempts < 40


def test_a_signature_is_the_base64_hmac_sha256_of_the_body():
    # printf '{"a": 1}' | openssl dgst -sha256 -hmac secret -binary | base64
    signature = sign("secret", b'{"a": 1}')
    assert signature == "nvoUoYQQpXpDL78M441LwzM5A2pk5XuMhtoLseEi2XI="
    assert verify("secret", b'{"a": 1}', signature)
    assert not verify("other", b'{"a": 1}', signature)


def test_thresholds_read_as_milliseconds_or_fractions_and_refuse_nonsense():
    assert parse_threshold("p95", "500ms") == 500
    assert parse_threshold("p99", "2s") == 2000
    assert parse_threshold("error-rate", "5%") == 0.05
    assert parse_threshold("p95", "off") is None
    for metric, text in (("p95", "fast"), ("error-rate", "150%"), ("p50", "1ms")):
        with pytest.raises(UsageError):
            parse_threshold(metric, text)


def test_an_alert_fires_once_when_crossed_and_resolves_once_when_back():
    firing: set[str] = set()
    limits = {"p95": 500.0, "error-rate": 0.05}
    assert judge({"p95_ms": 100.0, "error_rate": 0.0}, limits, firing) == []
    assert judge({"p95_ms": 900.0, "error_rate": 0.0}, limits, firing) == [
        ("p95", "fire", 900.0, 500.0)
    ]
    assert judge({"p95_ms": 950.0, "error_rate": 0.0}, limits, firing) == []
    assert judge({"p95_ms": 100.0, "error_rate": 0.2}, limits, firing) == [
        ("error-rate", "fire", 0.2, 0.05),
        ("p95", "resolve", 100.0, 500.0),
    ]
