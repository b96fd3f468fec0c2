"""The phases of an app's order, what is due next, and what certs:auto shows per domain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from twelve.acme import state as st
from twelve.acme.state import Action, CertFacts, OrderState, Phase

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NAMES = ("a.example", "b.example")
URL = "https://ca.test/order/1"


def cert(names: tuple[str, ...] = NAMES, days: int = 90) -> CertFacts:
    return CertFacts(names, T0 + timedelta(days=days), T0 + timedelta(days=days * 2 / 3))


def test_an_order_goes_through_its_phases_to_a_certificate() -> None:
    s = st.enable(OrderState())
    assert st.next_action(s, None, NAMES, T0) is Action.ISSUE
    s = st.ordered(s, URL, NAMES)
    assert (s.phase, s.order_url) == (Phase.ORDERING, URL)
    s = st.finalizing(st.answered(s))
    s = st.issued(s, T0)
    assert (s.phase, s.order_url, s.failures, s.issued_at) == (Phase.IDLE, None, 0, T0)
    assert st.next_action(s, cert(), NAMES, T0) is None


def test_steps_out_of_order_are_refused() -> None:
    s = st.enable(OrderState())
    with pytest.raises(st.IllegalTransition):
        st.answered(s)
    with pytest.raises(st.IllegalTransition):
        st.issued(s, T0)
    with pytest.raises(st.IllegalTransition):
        st.ordered(st.ordered(s, URL, NAMES), URL, NAMES)


def test_an_order_under_way_is_resumed_after_a_restart() -> None:
    s = st.answered(st.ordered(st.enable(OrderState()), URL, NAMES))
    again = OrderState.from_json(s.to_json())  # what the next daemon reads
    assert again == s
    assert st.next_action(again, None, NAMES, T0) is Action.RESUME
    # ...unless the names changed meanwhile: then a new order.
    assert st.next_action(again, None, NAMES[:1], T0) is Action.ISSUE
    dropped = st.abandoned(again)
    assert (dropped.phase, dropped.order_url) == (Phase.IDLE, None)
    assert st.ordered(dropped, URL, NAMES[:1]).names == NAMES[:1]


def test_a_failure_backs_off_and_shows_the_cas_error_per_domain() -> None:
    s = st.answered(st.ordered(st.enable(OrderState()), URL, NAMES))
    s = st.failed(s, "unauthorized: b.example said 404", T0, domain_errors={"b.example": "404"})
    assert (s.phase, s.order_url, s.failures) == (Phase.IDLE, None, 1)
    assert s.next_try == T0 + timedelta(minutes=1)
    assert st.next_action(s, None, NAMES, T0 + timedelta(seconds=30)) is None
    assert st.next_action(s, None, NAMES, T0 + timedelta(minutes=1)) is Action.ISSUE
    rows = {r["domain"]: r for r in st.domain_view(s, None, NAMES, T0)}
    assert rows["b.example"]["state"] == "failing"
    assert rows["b.example"]["error"] == "404"
    assert rows["b.example"]["next_try"] == (T0 + timedelta(minutes=1)).isoformat()
    assert rows["a.example"]["state"] == "pending"
    s = st.failed(s, "again", T0 + timedelta(minutes=1))
    assert s.next_try == T0 + timedelta(minutes=3)  # two minutes after the second failure


def test_a_new_domain_is_tried_at_once_despite_a_backoff() -> None:
    s = st.failed(st.enable(OrderState()), "rateLimited", T0, names=NAMES)
    assert st.next_action(s, None, NAMES, T0) is None
    assert st.next_action(s, None, (*NAMES, "c.example"), T0) is Action.ISSUE


def test_an_unreachable_ca_keeps_the_order_to_resume() -> None:
    s = st.answered(st.ordered(st.enable(OrderState()), URL, NAMES))
    s = st.failed(s, "connection refused", T0, keep_order=True)
    assert (s.phase, s.order_url) == (Phase.VALIDATING, URL)
    assert st.next_action(s, None, NAMES, T0) is None
    assert st.next_action(s, None, NAMES, T0 + timedelta(minutes=1)) is Action.RESUME


def test_renewal_is_due_at_its_time_and_a_failing_renewal_retries() -> None:
    s = st.issued(st.finalizing(st.ordered(st.enable(OrderState()), URL, NAMES)), T0)
    c = cert()
    assert st.next_action(s, c, NAMES, T0 + timedelta(days=59)) is None
    assert st.next_action(s, c, NAMES, T0 + timedelta(days=60)) is Action.RENEW
    assert st.wake_at(s, c) == c.renew_at
    failing = st.failed(s, "badNonce", T0 + timedelta(days=60), names=NAMES)
    later = T0 + timedelta(days=60, minutes=1)
    assert st.next_action(failing, c, NAMES, later) is Action.RENEW
    rows = st.domain_view(failing, c, NAMES, later)
    assert rows[0]["state"] == "failing" and rows[0]["expires"] == c.not_after.isoformat()


def test_issued_domains_show_expiry_and_renewal() -> None:
    s = st.issued(st.finalizing(st.ordered(st.enable(OrderState()), URL, NAMES)), T0)
    rows = st.domain_view(s, cert(NAMES[:1]), NAMES, T0)
    assert rows[0]["state"] == "issued" and rows[0]["renews"] == cert().renew_at.isoformat()
    assert rows[1]["state"] == "pending"


def test_disabled_does_nothing() -> None:
    s = st.disable(st.answered(st.ordered(st.enable(OrderState()), URL, NAMES)))
    assert s == OrderState()
    assert st.next_action(s, None, NAMES, T0) is None
    assert st.next_action(st.enable(s), None, (), T0) is None
