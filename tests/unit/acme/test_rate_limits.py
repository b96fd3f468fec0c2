"""A CA that refuses for now (``rateLimited``, 503) with ``Retry-After``: no try before it, for
the same names or others, and certs:auto says until when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twelve.acme import state as st
from twelve.acme.schedule import retry_after_at
from twelve.acme.state import Action, CertFacts, OrderState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NAMES = ("a.example", "b.example")
BASE = timedelta(seconds=1)


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert retry_after_at("120", T0) == T0 + timedelta(seconds=120)
    assert retry_after_at("Thu, 01 Jan 2026 03:00:00 GMT", T0) == T0 + timedelta(hours=3)
    for value in (None, "", "soon", "-5"):
        assert retry_after_at(value, T0) is None


def test_no_try_comes_before_the_cas_retry_after_even_for_other_names() -> None:
    state = st.ordered(st.enable(OrderState()), "https://ca.test/order/1", NAMES)
    later = T0 + timedelta(hours=3)
    failed = st.failed(
        state, "rateLimited: too many orders", T0, names=NAMES, keep_order=True,
        not_before=later, base=BASE,
    )  # fmt: skip
    assert failed.next_try == later  # not the one-second backoff
    assert failed.not_before == later and failed.order_url  # the order is kept to resume
    for now in (T0, later - timedelta(seconds=1)):
        assert st.next_action(failed, None, NAMES, now) is None
        assert st.next_action(failed, None, ("c.example",), now) is None  # a new name waits too
    assert st.next_action(failed, None, NAMES, later) is Action.RESUME
    assert st.wake_at(failed, None) == later
    assert st.OrderState.from_json(failed.to_json()) == failed


def test_the_wait_holds_even_when_the_certificate_would_expire_first() -> None:
    cert = CertFacts(NAMES, T0 + timedelta(hours=1), T0 - timedelta(days=1))
    later = T0 + timedelta(hours=2)
    failed = st.failed(
        st.enable(OrderState()), "rateLimited", T0, names=NAMES,
        not_after=cert.not_after, not_before=later, base=BASE,
    )  # fmt: skip
    assert failed.next_try == later
    assert st.next_action(failed, cert, NAMES, T0 + timedelta(minutes=59)) is None
    assert st.wake_at(failed, cert) == later


def test_certs_auto_shows_until_when_and_a_later_failure_without_it_forgets_it() -> None:
    later = T0 + timedelta(minutes=30)
    failed = st.failed(
        st.enable(OrderState()), "rateLimited: slow down", T0, names=NAMES, not_before=later,
        base=BASE,
    )  # fmt: skip
    rows = st.domain_view(failed, None, NAMES, T0)
    assert [r["state"] for r in rows] == ["failing", "failing"]
    assert rows[0]["ca_retry_after"] == later.isoformat()
    assert rows[0]["next_try"] == later.isoformat()
    again = st.failed(failed, "connection refused", later, names=NAMES, base=BASE)
    assert again.not_before is None and again.next_try == later + 2 * BASE
    past = st.failed(st.enable(OrderState()), "x", T0, not_before=T0 - BASE, base=BASE)
    assert past.not_before is None and past.next_try == T0 + BASE
