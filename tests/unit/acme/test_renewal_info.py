"""The CA's renewal information (ARI): kept in the app's state file, asked for again when the CA
says or daily, and moving renewal earlier only. Times come from a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from twelve.acme import state as st
from twelve.acme.files import AcmeFiles
from twelve.acme.schedule import (
    ARI_MAX_WAIT,
    ARI_MIN_WAIT,
    ari_ask_again,
    renew_at,
    renewal_time_in,
)
from twelve.acme.state import CertFacts, OrderState, RenewalInfo

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NAMES = ("a.example",)
NOT_AFTER = T0 + timedelta(days=90)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def facts(state: OrderState, fingerprint: str = "fp1") -> CertFacts:
    """What the manager computes: the schedule, moved by the CA's window for that certificate."""
    start = st.renewal_info_start(state, fingerprint)
    return CertFacts(NAMES, NOT_AFTER, renew_at(T0, NOT_AFTER, start))


def test_asked_again_when_the_ca_says_within_a_minute_and_a_day() -> None:
    assert ari_ask_again(T0, T0 + timedelta(hours=6)) == T0 + timedelta(hours=6)
    assert ari_ask_again(T0, T0 + timedelta(days=9)) == T0 + ARI_MAX_WAIT
    assert ari_ask_again(T0, T0 + timedelta(seconds=3)) == T0 + ARI_MIN_WAIT
    assert ari_ask_again(T0, None) == T0 + ARI_MAX_WAIT


def test_renewal_information_survives_a_restart_in_the_state_file(tmp_path: Path) -> None:
    clock = FakeClock()
    state = st.issued(
        st.finalizing(st.answered(st.ordered(st.enable(OrderState()), "u", NAMES))), T0
    )
    assert st.renewal_info_due(state, "fp1", clock.now)  # none yet for this certificate
    early = T0 + timedelta(days=20)
    info = RenewalInfo("fp1", early, ari_ask_again(clock.now, clock.now + timedelta(hours=8)))
    AcmeFiles(tmp_path).save_state("web", st.with_renewal_info(state, info))

    restarted = AcmeFiles(tmp_path).state("web")  # a new daemon reads what the last one kept
    assert restarted.ari == info
    assert facts(restarted).renew_at == early  # earlier than day 60: the CA's window wins
    assert not st.renewal_info_due(restarted, "fp1", clock.advance(hours=7))
    assert st.renewal_info_due(restarted, "fp1", clock.advance(hours=1))  # its Retry-After
    assert st.renewal_info_due(restarted, "fp2", T0)  # another certificate: ask for its own


def test_a_later_window_or_another_certificates_never_delays_the_schedule() -> None:
    state = st.enable(OrderState())
    late = RenewalInfo("fp1", T0 + timedelta(days=80), T0 + timedelta(days=1))
    assert facts(st.with_renewal_info(state, late)).renew_at == T0 + timedelta(days=60)
    other = RenewalInfo("fp0", T0 + timedelta(days=5), T0 + timedelta(days=1))
    assert facts(st.with_renewal_info(state, other)).renew_at == T0 + timedelta(days=60)
    none = RenewalInfo("fp1", None, T0 + timedelta(days=1))
    assert facts(st.with_renewal_info(state, none)).renew_at == T0 + timedelta(days=60)


def test_the_loop_wakes_to_ask_again_and_an_earlier_window_makes_renewal_due() -> None:
    clock = FakeClock()
    state = st.enable(OrderState())
    info = RenewalInfo("fp1", T0 + timedelta(days=30), T0 + timedelta(days=1))
    state = st.with_renewal_info(state, info)
    cert = facts(state)
    assert st.wake_at(state, cert) == T0 + timedelta(days=1)  # asking again comes first
    assert st.next_action(state, cert, NAMES, clock.advance(days=29)) is None
    assert st.next_action(state, cert, NAMES, clock.advance(days=1)) is st.Action.RENEW


def test_disabling_keeps_what_the_ca_said_and_issuing_forgets_the_old_certificates() -> None:
    info = RenewalInfo("fp1", None, T0 + timedelta(days=1))
    state = st.with_renewal_info(st.enable(OrderState()), info)
    assert st.disable(state).ari == info
    assert not st.renewal_info_due(st.disable(state), "fp1", T0 + timedelta(days=2))
    ordered = st.ordered(state, "u", NAMES)
    assert st.issued(st.finalizing(st.answered(ordered)), T0).ari is None
    assert RenewalInfo.from_json({"fingerprint": "x"}) is None  # no time to ask again: refetch
    assert OrderState.from_json({"ari": "junk"}).ari is None


def test_a_time_picked_in_the_window_is_kept_while_the_window_holds_it() -> None:
    window = (T0, T0 + timedelta(hours=10))
    assert renewal_time_in(window, None, 0.25) == T0 + timedelta(hours=2, minutes=30)
    kept = T0 + timedelta(hours=7)
    assert renewal_time_in(window, kept, 0.25) == kept
    moved = (T0 + timedelta(hours=8), T0 + timedelta(hours=9))
    assert renewal_time_in(moved, kept, 0.5) == T0 + timedelta(hours=8, minutes=30)
