"""The daemon's side of automatic certificates: a loop that orders, resumes and renews them.

For each app with ``certs:auto:enable``, it compares the certificate in hand with the app's
custom domains and the renewal schedule (``state.next_action``), and runs an order when one is
due: the key authorizations go into the route table so the router answers HTTP-01 itself, the
CA is told to validate once every router worker has them, and the issued certificate is stored
as ``certs:add`` stores one, so every router worker swaps to it on the next table reload while
open connections keep theirs. Every step and failure is a ``twelve[acme]`` line in the app's log
stream. The protocol's blocking calls run in daemon threads, so a stopping daemon never waits
for a CA: the order's state is saved at each step and the next daemon resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from twelve.acme import state as st
from twelve.acme.client import AcmeClient, CaError, csr_for, new_account_key, new_certificate_key
from twelve.acme.client import translate as translate_error
from twelve.acme.domains import certificate_names, skipped_names
from twelve.acme.files import AcmeFiles
from twelve.acme.schedule import renew_at
from twelve.acme.state import Action, CertFacts, OrderState, Phase
from twelve.certs import CertStore, check_pair
from twelve.settings import Settings
from twelve.store import Store

log = logging.getLogger("acme")
T = TypeVar("T")
MAX_SLEEP = 60.0  # seconds between two looks even when nothing is due (clock changes, new apps)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking call in a daemon thread (one a stopping daemon does not wait for)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: Any, failed: bool) -> None:
        if not future.done():
            if failed:
                future.set_exception(value)
            else:
                future.set_result(value)

    def run() -> None:
        try:
            result: Any = fn(*args)
            failed = False
        except BaseException as exc:  # handed to the awaiting task as is
            result, failed = exc, True
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, failed)

    threading.Thread(target=run, name="acme", daemon=True).start()
    return await future


class AcmeManager:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        event: Callable[[str, str], None],
        publish: Callable[[], Awaitable[None]],
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.settings = settings
        self.store = store
        self.event = event  # a twelve[acme] line in an app's stream
        self.publish = publish  # write the route table and wait until every worker loaded it
        self.clock = clock
        self.files = AcmeFiles(settings.acme_dir)
        self.certs = CertStore(settings.certs_dir)
        self.challenges: dict[str, dict[str, str]] = {}  # app -> token -> key authorization
        self._client: AcmeClient | None = None
        self._wake = asyncio.Event()
        self._connecting = asyncio.Lock()
        self._running: dict[str, asyncio.Task[None]] = {}  # app -> its order under way
        self._held: dict[str, dt.datetime] = {}  # app -> no try before (after a bug)
        self._task: asyncio.Task[None] | None = None
        self._ari: dict[str, tuple[str, dt.datetime | None]] = {}  # app -> (fingerprint, start)

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
        ari = self._ari.get(app)
        ari_start = ari[1] if ari and ari[0] == info.fingerprint else None
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
        self.challenges.pop(app, None)

    def forget(self, app: str) -> None:
        """The app is destroyed: its order stops and its state and keys go."""
        task = self._running.pop(app, None)
        if task is not None:
            task.cancel()
        self.files.remove(app)
        self.challenges.pop(app, None)

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
                    task = asyncio.create_task(self._run_logged(app), name=f"acme {app}")
                    self._running[app] = task
                    task.add_done_callback(functools.partial(self._finished, app))
                elif (when := st.wake_at(state, facts)) is not None:
                    wakes.append(when)
            delay = MAX_SLEEP
            if wakes:
                delay = min(delay, max(0.2, (min(wakes) - now).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _finished(self, app: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(app, None)
        self.poke()

    async def _run_logged(self, app: str) -> None:
        try:
            await self.run_once(app)
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
                base=dt.timedelta(seconds=self.settings.acme_retry_base),
            )
            self.files.save_state(app, failed)
            when = failed.next_try.strftime("%Y-%m-%d %H:%M:%S UTC") if failed.next_try else "-"
            self.event(app, f"certificate order failed: {error}; next try at {when}")
        if self.challenges.pop(app, None) is not None:
            await self.publish()

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
            found = await in_thread(client.challenges, order)
            self.challenges[app] = {c.token: c.key_authorization for c in found}
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
        self._ari[app] = (info.fingerprint, await self._ari_start(client, cert_pem))
        self.challenges.pop(app, None)
        await self.publish()  # the new certificate, and no more challenges
        facts = self.facts(app)
        renews = f", renews at {facts.renew_at:%Y-%m-%d %H:%M:%S} UTC" if facts else ""
        self.event(
            app,
            f"certificate issued for {', '.join(info.hostnames)}: "
            f"expires {info.not_after:%Y-%m-%d %H:%M:%S} UTC{renews}",
        )

    async def _ari_start(self, client: AcmeClient, cert_pem: bytes) -> dt.datetime | None:
        try:
            return await in_thread(client.renewal_window_start, cert_pem)
        except Exception:  # renewal information is advice: without it the schedule stands
            return None


__all__ = ["AcmeManager", "CaError", "in_thread"]
