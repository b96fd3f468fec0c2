"""The daemon's side of automatic certificates: a loop that orders, resumes and renews them.

For each app with ``certs:auto:enable``, it compares the certificate in hand with the app's
custom domains and the renewal schedule (``state.next_action``), and runs an order when one is
due: the key authorizations go into the route table so the router answers HTTP-01 (or, with
``TWELVE_ACME_CHALLENGE=tls-alpn-01``, shows the TLS-ALPN-01 validation certificate) itself, the
CA is told to validate once every router worker has them, and the issued certificate is stored
as ``certs:add`` stores one, so every router worker swaps to it on the next table reload while
open connections keep theirs. Every step and failure is a ``twelve[acme]`` line in the app's log
stream. The CA's renewal information (ARI) is fetched for each certificate, again when the CA
says (at least daily), and kept in the app's state file. The protocol's blocking calls run in
daemon threads, so a stopping daemon never waits for a CA: the order's state is saved at each
step and the next daemon resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from twelve.acme import state as st
from twelve.acme.client import (
    ARI_DEFAULT_RETRY,
    TLS_ALPN_01,
    AcmeClient,
    CaError,
    Challenge,
    csr_for,
    new_account_key,
    new_certificate_key,
)
from twelve.acme.client import translate as translate_error
from twelve.acme.domains import certificate_names, skipped_names
from twelve.acme.files import AcmeFiles
from twelve.acme.schedule import ari_ask_again, renew_at, renewal_time_in
from twelve.acme.state import Action, CertFacts, OrderState, Phase, RenewalInfo
from twelve.acme.threads import in_thread
from twelve.certs import CertStore, check_pair
from twelve.settings import Settings
from twelve.store import Store

log = logging.getLogger("acme")
MAX_SLEEP = 60.0  # seconds between two looks even when nothing is due (clock changes, new apps)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AcmeManager:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        event: Callable[[str, str], None],
        publish: Callable[[], Awaitable[None]],
        clock: Callable[[], dt.datetime] = _utcnow,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.store = store
        self.event = event  # a twelve[acme] line in an app's stream
        self.publish = publish  # write the route table and wait until every worker loaded it
        self.clock = clock
        self.draw = draw  # where in the CA's renewal window to renew, from 0 to 1
        self.files = AcmeFiles(settings.acme_dir)
        self.certs = CertStore(settings.certs_dir)
        self.challenges: dict[str, dict[str, str]] = {}  # app -> token -> key authorization
        self.alpn: dict[str, dict[str, str]] = {}  # app -> domain -> TLS-ALPN-01 digest (hex)
        self._client: AcmeClient | None = None
        self._wake = asyncio.Event()
        self._connecting = asyncio.Lock()
        self._running: dict[str, asyncio.Task[None]] = {}  # app -> its order under way
        self._held: dict[str, dt.datetime] = {}  # app -> no try before (after a bug)
        self._task: asyncio.Task[None] | None = None

    # -- what the API and the route table read ---------------------------------------------------

    def enabled_apps(self) -> list[str]:
        return [a for a in self.files.apps() if self.files.state(a).enabled]

    def wanted(self, app: str) -> tuple[str, ...]:
        return certificate_names(
            (h for h, _ in self.store.domains.pairs(app)), self.settings.domain
        )

    def facts(self, app: str) -> CertFacts | None:
        stored = self.certs.get(app)
        if stored is None:
            return None
        info = stored.info
        ari_start = st.renewal_info_start(self.files.state(app), info.fingerprint)
        return CertFacts(
            info.hostnames, info.not_after, renew_at(info.not_before, info.not_after, ari_start)
        )

    def describe(self, app: str) -> dict[str, Any]:
        state = self.files.state(app)
        domains = [h for h, _ in self.store.domains.pairs(app)]
        wanted = self.wanted(app)
        return {
            "enabled": state.enabled,
            "directory": self.settings.acme_directory,
            "phase": state.phase.value,
            "error": state.error,
            "next_try": state.next_try.isoformat() if state.next_try else None,
            "ca_retry_after": state.not_before.isoformat() if state.not_before else None,
            "challenge": self.settings.acme_challenge,
            "domains": st.domain_view(state, self.facts(app), wanted, self.clock())
            if state.enabled
            else [],
            "skipped": list(skipped_names(domains, self.settings.domain)),
        }

    def enable(self, app: str) -> None:
        self.files.save_state(app, st.enable(self.files.state(app)))
        self.poke()

    def disable(self, app: str) -> None:
        task = self._running.pop(app, None)
        if task is not None:
            task.cancel()
        self.files.save_state(app, st.disable(self.files.state(app)))
        self._drop_challenges(app)

    def _drop_challenges(self, app: str) -> bool:
        """Forget the app's challenges; whether it had any (the route table must then change)."""
        had = self.challenges.pop(app, None) is not None
        return self.alpn.pop(app, None) is not None or had

    def forget(self, app: str) -> None:
        """The app is destroyed: its order stops and its state and keys go."""
        task = self._running.pop(app, None)
        if task is not None:
            task.cancel()
        self.files.remove(app)
        self._drop_challenges(app)

    # -- the loop --------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="acme")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def poke(self) -> None:
        """Look again now: an app enabled, a domain added or removed."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            now = self.clock()
            wakes: list[dt.datetime] = []
            for app in self.enabled_apps():
                if app in self._running:
                    continue
                state, facts = self.files.state(app), self.facts(app)
                held = self._held.get(app)
                if held is not None and now < held:
                    wakes.append(held)
                elif st.next_action(state, facts, self.wanted(app), now) is not None:
                    # An order of its own: a CA slow to validate one app's names delays no
                    # other app's renewal.
                    self._spawn(app, self.run_once(app))
                elif (fingerprint := self._fingerprint(app)) and st.renewal_info_due(
                    state, fingerprint, now
                ):
                    self._spawn(app, self.refresh_renewal_info(app))
                elif (when := st.wake_at(state, facts)) is not None:
                    wakes.append(when)
            delay = MAX_SLEEP
            if wakes:
                delay = min(delay, max(0.2, (min(wakes) - now).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _spawn(self, app: str, work: Awaitable[None]) -> None:
        task = asyncio.create_task(self._run_logged(app, work), name=f"acme {app}")
        self._running[app] = task
        task.add_done_callback(functools.partial(self._finished, app))

    def _finished(self, app: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(app, None)
        self.poke()

    def _fingerprint(self, app: str) -> str | None:
        stored = self.certs.get(app)
        return stored.info.fingerprint if stored is not None else None

    async def _run_logged(self, app: str, work: Awaitable[None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug: logged, and that app alone waits a while before the next try
            log.exception("automatic certificate of %s", app)
            self._held[app] = self.clock() + dt.timedelta(seconds=MAX_SLEEP)

    async def run_once(self, app: str) -> None:
        """Do what is due for ``app`` now, if anything."""
        state = self.files.state(app)
        wanted = self.wanted(app)
        cert = self.facts(app)
        action = st.next_action(state, cert, wanted, self.clock())
        if action is None:
            return
        try:
            await self._order(app, state, wanted, cert, action)
        except asyncio.CancelledError:
            raise  # the daemon stops: the challenges stay in the table for the next one
        except Exception as exc:
            error = translate_error(exc)
            if error.message.startswith("accountDoesNotExist"):
                self._forget_account()  # the CA lost it (or was reset): register again
            current = self.files.state(app)
            if not current.enabled:
                return
            failed = st.failed(
                current,
                error.message,
                self.clock(),
                names=wanted,
                domain_errors=error.domain_errors,
                keep_order=error.keep_order,
                not_after=cert.not_after if cert else None,
                not_before=error.not_before,
                base=dt.timedelta(seconds=self.settings.acme_retry_base),
            )
            self.files.save_state(app, failed)
            wait = (
                f"; the CA asks to wait until {_utc(failed.not_before)}"
                if failed.not_before
                else ""
            )
            self.event(
                app, f"certificate order failed: {error}{wait}; next try at {_utc(failed.next_try)}"
            )
        if self._drop_challenges(app):
            await self.publish()

    async def refresh_renewal_info(self, app: str) -> None:
        """Ask the CA when it suggests renewing the app's certificate (ARI), and keep the answer;
        a suggestion earlier than the schedule's is said in the app's log."""
        stored = self.certs.get(app)
        if stored is None:
            return
        before = self.facts(app)
        fingerprint = stored.info.fingerprint
        try:
            client = await self._connect()
            answer = await in_thread(client.renewal_window, stored.cert_path.read_bytes())
        except Exception as exc:  # advice only: without it the schedule stands; ask again later
            error = translate_error(exc)
            now = self.clock()
            again = error.not_before or now + ARI_DEFAULT_RETRY
            info = RenewalInfo(fingerprint, None, ari_ask_again(now, again))
        else:
            now = self.clock()
            kept = st.renewal_info_start(self.files.state(app), fingerprint)
            start = renewal_time_in(answer.window, kept, self.draw()) if answer.window else None
            again = answer.ask_again or now + ARI_DEFAULT_RETRY
            info = RenewalInfo(fingerprint, start, ari_ask_again(now, again))
        state = self.files.state(app)
        if not state.enabled:
            return
        self.files.save_state(app, st.with_renewal_info(state, info))
        after = self.facts(app)
        earlier = after is not None and (before is None or after.renew_at < before.renew_at)
        if earlier and after is not None and info.start == after.renew_at:
            self.event(app, f"the CA's renewal information moves renewal to {_utc(after.renew_at)}")

    def _forget_account(self) -> None:
        self._client = None
        account = self.files.account()
        if account is not None:
            self.files.save_account(account | {"uri": None})

    async def _connect(self) -> AcmeClient:
        async with self._connecting:  # one account registration, however many apps order
            return await self._connect_once()

    async def _connect_once(self) -> AcmeClient:
        if self._client is not None:
            return self._client
        s = self.settings
        account = self.files.account()
        if account is None or account.get("directory") != s.acme_directory:
            account = {"key": new_account_key(), "uri": None, "directory": s.acme_directory}
            self.files.save_account(account)
        verify: str | bool = str(s.acme_ca_bundle) if s.acme_ca_bundle else True
        made = await in_thread(AcmeClient, s.acme_directory, verify, str(account["key"]))
        uri = await in_thread(made.account, account.get("uri"), s.acme_email)
        if uri != account.get("uri"):
            self.files.save_account(account | {"uri": uri})
        self._client = made
        return made

    async def _order(
        self,
        app: str,
        state: OrderState,
        wanted: tuple[str, ...],
        cert: CertFacts | None,
        action: Action,
    ) -> None:
        files = self.files
        names = ", ".join(wanted)
        client = await self._connect()
        key = files.order_key(app)
        order = None
        if action is Action.RESUME and key is not None and state.order_url:
            order = await in_thread(client.load_order, state.order_url, csr_for(key, wanted))
            self.event(app, f"resuming the order for {names} ({state.phase}): {state.order_url}")
        else:
            state = st.abandoned(state)
            why = {Action.RENEW: "renewing", Action.ISSUE: "ordering"}.get(action, "ordering")
            self.event(app, f"{why} a certificate for {names} from {self.settings.acme_directory}")
            key = new_certificate_key()
            files.save_order_key(app, key)
            order = await in_thread(client.new_order, csr_for(key, wanted))
            state = st.ordered(state, str(order.uri), wanted)
            files.save_state(app, state)
        deadline = dt.datetime.now() + dt.timedelta(seconds=self.settings.acme_order_timeout)
        if state.phase in (Phase.ORDERING, Phase.VALIDATING):
            kind = self.settings.acme_challenge
            found = await in_thread(client.challenges, order, kind)
            self._publishing(app, found)
            await self.publish()  # every router worker answers them before the CA asks
            for challenge in found:
                if challenge.answer:
                    await in_thread(client.answer, challenge)
            if state.phase is Phase.ORDERING:
                state = st.answered(state)
                files.save_state(app, state)
            order = await in_thread(client.wait_authorized, order, deadline)
            state = st.finalizing(state)
            files.save_state(app, state)
        chain = await in_thread(client.finalize, order, deadline)
        cert_pem, key_pem, info = check_pair(chain.encode(), key, self.clock())
        self.certs.save(app, cert_pem, key_pem)
        files.save_state(app, st.issued(state, self.clock()))
        self._drop_challenges(app)
        await self.publish()  # the new certificate, and no more challenges
        await self.refresh_renewal_info(app)
        facts = self.facts(app)
        renews = f", renews at {facts.renew_at:%Y-%m-%d %H:%M:%S} UTC" if facts else ""
        self.event(
            app,
            f"certificate issued for {', '.join(info.hostnames)}: "
            f"expires {info.not_after:%Y-%m-%d %H:%M:%S} UTC{renews}",
        )

    def _publishing(self, app: str, found: list[Challenge]) -> None:
        if self.settings.acme_challenge == TLS_ALPN_01:
            self.alpn[app] = {c.domain: c.alpn_digest for c in found}
        else:
            self.challenges[app] = {c.token: c.key_authorization for c in found}


def _utc(when: dt.datetime | None) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if when else "-"


__all__ = ["AcmeManager", "CaError", "in_thread"]
