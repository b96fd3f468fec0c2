"""An app's automatic certificate: the state of its order as named phases with explicit
transitions, what to do next, and what ``certs:auto`` shows per domain. Pure: the clock is given.

An order goes ``idle`` -> ``ordering`` (created at the CA, its URL kept) -> ``validating`` (the
challenges answered) -> ``finalizing`` (the CSR sent) -> ``idle`` with a certificate. Any phase
may fail back to ``idle`` with the CA's error and a time for the next try, never before the
``Retry-After`` of a CA that refused for now. The phase and the order's URL are saved at every
step, so a daemon restarted mid-order resumes that order rather than starting another (a CA counts
new orders against its rate limits). The CA's renewal information (ARI) for the certificate in
hand is kept with it, so a restart neither loses an earlier renewal nor asks again too soon.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from twelve.acme.domains import needs_new_certificate
from twelve.acme.schedule import RETRY_BASE, RETRY_CAP, retry_at


class Phase(StrEnum):
    IDLE = "idle"
    ORDERING = "ordering"
    VALIDATING = "validating"
    FINALIZING = "finalizing"


_ALLOWED: Mapping[Phase, frozenset[Phase]] = {
    Phase.IDLE: frozenset({Phase.ORDERING}),
    # A resumed order may be found already validated (ready) by the CA.
    Phase.ORDERING: frozenset({Phase.VALIDATING, Phase.FINALIZING, Phase.IDLE}),
    Phase.VALIDATING: frozenset({Phase.FINALIZING, Phase.IDLE}),
    Phase.FINALIZING: frozenset({Phase.IDLE}),
}


class IllegalTransition(ValueError):
    """A step the order's phase does not allow (a bug, never the CA's doing)."""


class Action(StrEnum):
    ISSUE = "issue"  # no certificate yet, or one for other names
    RENEW = "renew"  # the certificate is due for renewal
    RESUME = "resume"  # an order was under way


@dataclass(frozen=True)
class CertFacts:
    """What matters of the app's current certificate."""

    names: tuple[str, ...]
    not_after: datetime
    renew_at: datetime


@dataclass(frozen=True)
class RenewalInfo:
    """The CA's renewal information for one certificate (by its fingerprint)."""

    fingerprint: str
    start: datetime | None  # a time in the CA's suggested window, None when it offers none
    ask_again: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "start": _iso(self.start),
            "ask_again": _iso(self.ask_again),
        }

    @classmethod
    def from_json(cls, data: object) -> RenewalInfo | None:
        if not isinstance(data, Mapping) or not isinstance(data.get("fingerprint"), str):
            return None
        ask_again = _time(data.get("ask_again"))
        if ask_again is None:
            return None
        return cls(data["fingerprint"], _time(data.get("start")), ask_again)


@dataclass(frozen=True)
class OrderState:
    enabled: bool = False
    phase: Phase = Phase.IDLE
    order_url: str | None = None
    names: tuple[str, ...] = ()  # the names of the order under way, or of the last one tried
    failures: int = 0  # failures in a row
    next_try: datetime | None = None
    error: str | None = None  # the last failure in the CA's own words
    domain_errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    issued_at: datetime | None = None
    not_before: datetime | None = None  # the CA's Retry-After: no request to it before then
    ari: RenewalInfo | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "phase": self.phase.value,
            "order_url": self.order_url,
            "names": list(self.names),
            "failures": self.failures,
            "next_try": _iso(self.next_try),
            "error": self.error,
            "domain_errors": dict(self.domain_errors),
            "issued_at": _iso(self.issued_at),
            "not_before": _iso(self.not_before),
            "ari": self.ari.to_json() if self.ari else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrderState:
        return cls(
            enabled=bool(data.get("enabled", False)),
            phase=Phase(data.get("phase", "idle")),
            order_url=data.get("order_url"),
            names=tuple(data.get("names", ())),
            failures=int(data.get("failures", 0)),
            next_try=_time(data.get("next_try")),
            error=data.get("error"),
            domain_errors=MappingProxyType(dict(data.get("domain_errors", {}))),
            issued_at=_time(data.get("issued_at")),
            not_before=_time(data.get("not_before")),
            ari=RenewalInfo.from_json(data.get("ari")),
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _move(state: OrderState, to: Phase, **changes: Any) -> OrderState:
    if to not in _ALLOWED[state.phase]:
        raise IllegalTransition(f"an order cannot go from {state.phase} to {to}")
    return replace(state, phase=to, **changes)


def ordered(state: OrderState, order_url: str, names: tuple[str, ...]) -> OrderState:
    """The CA created an order for ``names`` at ``order_url``."""
    return _move(state, Phase.ORDERING, order_url=order_url, names=names)


def answered(state: OrderState) -> OrderState:
    """Every challenge of the order is published and answered."""
    return _move(state, Phase.VALIDATING)


def finalizing(state: OrderState) -> OrderState:
    """Every authorization is valid; the CSR goes to the CA."""
    return _move(state, Phase.FINALIZING)


def issued(state: OrderState, now: datetime) -> OrderState:
    """The certificate is in hand: the failures are forgotten."""
    return _move(
        state,
        Phase.IDLE,
        order_url=None,
        failures=0,
        next_try=None,
        error=None,
        domain_errors=MappingProxyType({}),
        issued_at=now,
        not_before=None,
        ari=None,
    )


def failed(
    state: OrderState,
    error: str,
    now: datetime,
    *,
    names: tuple[str, ...] | None = None,
    domain_errors: Mapping[str, str] | None = None,
    keep_order: bool = False,
    not_after: datetime | None = None,
    not_before: datetime | None = None,
    base: timedelta = RETRY_BASE,
    cap: timedelta = RETRY_CAP,
) -> OrderState:
    """A step failed: back off. ``keep_order`` keeps the order to resume (the CA could not be
    reached, say), else it is abandoned and the next try orders anew. ``not_before`` is the CA's
    ``Retry-After``: the next try comes no sooner, whatever the backoff or the expiry says."""
    failures = state.failures + 1
    next_try = retry_at(now, failures, not_after, base, cap)
    if not_before is not None and not_before > next_try:
        next_try = not_before
    changes: dict[str, Any] = {
        "failures": failures,
        "next_try": next_try,
        "not_before": not_before if not_before is not None and not_before > now else None,
        "error": error,
        "domain_errors": MappingProxyType(dict(domain_errors or {})),
        "names": names if names is not None else state.names,
    }
    if keep_order and state.order_url is not None:
        return replace(state, **changes)
    if state.phase is Phase.IDLE:
        return replace(state, order_url=None, **changes)
    return _move(state, Phase.IDLE, order_url=None, **changes)


def abandoned(state: OrderState) -> OrderState:
    """The order under way is given up for a new one (its names changed, or its key is lost)."""
    if state.phase is Phase.IDLE:
        return replace(state, order_url=None)
    return _move(state, Phase.IDLE, order_url=None)


def enable(state: OrderState) -> OrderState:
    return replace(state, enabled=True, failures=0, next_try=None)


def disable(state: OrderState) -> OrderState:
    """Auto certificates off: any order under way is dropped (the CA lets it expire); what the CA
    said about waiting and renewing still holds."""
    return OrderState(enabled=False, not_before=state.not_before, ari=state.ari)


def with_renewal_info(state: OrderState, info: RenewalInfo) -> OrderState:
    return replace(state, ari=info)


def renewal_info_due(state: OrderState, fingerprint: str, now: datetime) -> bool:
    """Whether to ask the CA for the renewal information of certificate ``fingerprint`` now."""
    if not state.enabled or (state.not_before is not None and now < state.not_before):
        return False
    ari = state.ari
    return ari is None or ari.fingerprint != fingerprint or now >= ari.ask_again


def renewal_info_start(state: OrderState, fingerprint: str) -> datetime | None:
    """The CA's suggested renewal time for certificate ``fingerprint``, if it gave one."""
    ari = state.ari
    return ari.start if ari is not None and ari.fingerprint == fingerprint else None


def next_action(
    state: OrderState, cert: CertFacts | None, wanted: tuple[str, ...], now: datetime
) -> Action | None:
    """What to do now, or None when nothing is due."""
    if not state.enabled or not wanted:
        return None
    if state.not_before is not None and now < state.not_before:
        return None  # the CA asked to wait, for any names
    if state.phase is not Phase.IDLE and state.order_url is not None:
        if state.next_try is None or now >= state.next_try or state.names != wanted:
            return Action.RESUME if state.names == wanted else Action.ISSUE
        return None
    # A backoff holds only for the names that failed: a domain added or removed is tried at once.
    if state.next_try is not None and now < state.next_try and state.names == wanted:
        return None
    if cert is None or needs_new_certificate(cert.names, wanted):
        return Action.ISSUE
    if now >= cert.renew_at or state.next_try is not None:
        return Action.RENEW
    return None


def wake_at(state: OrderState, cert: CertFacts | None) -> datetime | None:
    """The next time ``next_action`` may change without anything else happening."""
    if not state.enabled:
        return None
    times = [t for t in (state.next_try, cert.renew_at if cert else None) if t is not None]
    if cert is not None and state.ari is not None:
        times.append(state.ari.ask_again)
    if state.not_before is not None:
        times = [max(t, state.not_before) for t in (*times, state.not_before)]
    return min(times) if times else None


def domain_view(
    state: OrderState, cert: CertFacts | None, wanted: tuple[str, ...], now: datetime
) -> list[dict[str, Any]]:
    """Each wanted domain: ``pending``, ``issued`` or ``failing`` with the CA's error and the
    next try, and when the certificate covering it expires and renews."""
    rows = []
    for name in wanted:
        covered = cert is not None and name in cert.names and now < cert.not_after
        error = state.domain_errors.get(name) or (
            state.error if state.error and not state.domain_errors else None
        )
        if error and name in state.names:
            status = "failing"
        elif covered:
            status = "issued"
        else:
            status = "pending"
        rows.append(
            {
                "domain": name,
                "state": status,
                "phase": state.phase.value if name in state.names else Phase.IDLE.value,
                "error": error if status == "failing" else None,
                "next_try": _iso(state.next_try) if status == "failing" else None,
                "ca_retry_after": _iso(state.not_before) if status == "failing" else None,
                "expires": _iso(cert.not_after) if covered and cert else None,
                "renews": _iso(cert.renew_at) if covered and cert else None,
            }
        )
    return rows
