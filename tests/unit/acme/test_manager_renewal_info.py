"""The daemon's side of the CA's renewal information, on a fake clock: the window it is given is
kept in the app's state file (so a new daemon has it), moves renewal earlier with a log line, and
is asked for again only when the CA said; a refusal's ``Retry-After`` is when to ask again."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from certmaker import NOW, TestCA
from twelve.acme import state as st
from twelve.acme.client import RenewalWindow, Throttled
from twelve.acme.manager import AcmeManager
from twelve.certs import CertStore
from twelve.settings import Settings

NAMES = ("a.example",)


class Domains:
    """The store's one repository the manager reads here: the app's custom domains."""

    def pairs(self, app: str | None = None) -> list[tuple[str, str]]:
        return [(name, "web") for name in NAMES]


class Store:
    domains = Domains()


class RenewalInfoCA:
    """The CA's answers to renewal-information requests, in turn."""

    def __init__(self, *answers: RenewalWindow | Exception) -> None:
        self.answers = list(answers)
        self.asked = 0

    def renewal_window(self, cert_pem: bytes) -> RenewalWindow:
        self.asked += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def window(start: datetime, seconds: float = 60) -> tuple[datetime, datetime]:
    return (start, start + timedelta(seconds=seconds))


def manager(
    home: Path, clock: Clock, ca: RenewalInfoCA, lines: list[str], draw: float = 0.5
) -> AcmeManager:
    async def publish() -> None:
        return None

    made = AcmeManager(
        Settings.from_environ({"TWELVE_HOME": str(home)}),
        Store(),  # type: ignore[arg-type]
        lambda app, text: lines.append(f"{app}: {text}"),
        publish,
        clock,
        lambda: draw,
    )
    made._client = ca  # type: ignore[assignment]
    return made


def test_an_earlier_window_is_kept_across_a_restart_and_asked_for_again_when_due(
    tmp_path: Path,
) -> None:
    clock, lines = Clock(), []
    early = NOW + timedelta(days=2)  # the middle of the first window: the draw is 0.5
    ca = RenewalInfoCA(
        RenewalWindow(window(early - timedelta(hours=1), 7200), NOW + timedelta(hours=8)),
        RenewalWindow(window(early - timedelta(minutes=30), 7200), NOW + timedelta(days=5)),
        RenewalWindow(window(early + timedelta(hours=2)), None),
    )
    m = manager(tmp_path, clock, ca, lines)
    cert, key = TestCA().issue(*NAMES)  # valid from a day ago for 11 days: renews at day 6.3
    CertStore(m.settings.certs_dir).save("web", cert, key)
    m.enable("web")
    fingerprint = CertStore(m.settings.certs_dir).get("web").info.fingerprint  # type: ignore[union-attr]
    scheduled = m.facts("web").renew_at  # type: ignore[union-attr]
    assert scheduled > early

    asyncio.run(m.refresh_renewal_info("web"))
    assert m.facts("web").renew_at == early  # type: ignore[union-attr]
    assert lines == [
        f"web: the CA's renewal information moves renewal to {early:%Y-%m-%d %H:%M:%S} UTC"
    ]

    restarted = manager(tmp_path, clock, ca, [])
    assert restarted.facts("web").renew_at == early  # type: ignore[union-attr]
    state = restarted.files.state("web")
    assert not st.renewal_info_due(state, fingerprint, NOW + timedelta(hours=7))
    assert st.renewal_info_due(state, fingerprint, NOW + timedelta(hours=8))

    clock.now = NOW + timedelta(hours=8)
    asyncio.run(restarted.refresh_renewal_info("web"))
    assert ca.asked == 2
    assert restarted.facts("web").renew_at == early  # still in the moved window: kept
    asked_again = restarted.files.state("web").ari
    assert asked_again is not None and asked_again.ask_again == clock.now + timedelta(days=1)

    clock.now = NOW + timedelta(days=1, hours=8)  # a window that no longer holds the pick
    asyncio.run(restarted.refresh_renewal_info("web"))
    moved = restarted.files.state("web").ari
    assert moved is not None and moved.start == early + timedelta(hours=2, seconds=30)
    assert moved.ask_again == clock.now + timedelta(hours=6)  # no Retry-After: six hours


def test_a_refused_request_is_asked_again_after_the_cas_retry_after(tmp_path: Path) -> None:
    clock, lines = Clock(), []
    later = NOW + timedelta(hours=2)
    ca = RenewalInfoCA(Throttled("rateLimited: slow down", later))
    m = manager(tmp_path, clock, ca, lines)
    cert, key = TestCA().issue(*NAMES)
    CertStore(m.settings.certs_dir).save("web", cert, key)
    m.enable("web")
    scheduled = m.facts("web").renew_at  # type: ignore[union-attr]
    asyncio.run(m.refresh_renewal_info("web"))
    ari = m.files.state("web").ari
    assert ari is not None and ari.start is None and ari.ask_again == later
    assert m.facts("web").renew_at == scheduled and lines == []  # the schedule stands
