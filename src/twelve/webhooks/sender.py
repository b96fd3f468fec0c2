"""Webhook events queued in the store and sent in the background.

``notify`` only writes a row per webhook that wants the event and wakes the sender: a slow or dead
receiver never holds up what caused the event. The sender posts each due delivery, at most
``CONCURRENCY`` at a time (``PER_WEBHOOK`` to any one webhook, so a dead receiver does not hold
up the others) and each within ``TIMEOUT`` seconds; a 2xx answer settles it, anything
else (another status, a refused connection, the timeout) schedules the next try by
``schedule.next_attempt`` until 24 hours have passed. Every try of one event carries the same
body and event id, so a receiver counts each event once however often it was tried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from twelve.store.webhooks import Delivery, WebhookStore
from twelve.webhooks.schedule import next_attempt
from twelve.webhooks.signing import HEADER, sign

log = logging.getLogger("twelve")
RESOURCES: Final = ("release", "build", "dyno", "addon", "cert", "alert")
CONCURRENCY: Final = 8
PER_WEBHOOK: Final = 2  # so one slow receiver leaves room for the others
TIMEOUT: Final = 10.0
KEEP_SETTLED: Final = 7 * 86400.0  # seconds a delivered or failed delivery is listed


class Webhooks:
    def __init__(
        self,
        store: WebhookStore,
        clock: Callable[[], float],
        retry_base: float = 5.0,
        timeout: float = TIMEOUT,
    ) -> None:
        self.store = store
        self.clock = clock
        self.retry_base = retry_base
        self.timeout = timeout
        self._wake = asyncio.Event()
        self._sending: dict[str, str] = {}  # delivery id → its webhook's id, while in flight
        self._tasks: set[asyncio.Task[None]] = set()

    def notify(self, app: str, resource: str, action: str, data: dict[str, Any]) -> None:
        """Queue one event for every webhook of ``app`` that includes ``resource``."""
        hooks = [w for w in self.store.of_app(app) if resource in w.include]
        if not hooks:
            return
        now = self.clock()
        event = str(uuid.uuid4())
        body = json.dumps(
            {
                "id": event,
                "created_at": datetime.fromtimestamp(now, UTC).isoformat(),
                "resource": resource,
                "action": action,
                "app": {"name": app},
                "data": data,
            }
        )
        self.store.queue(
            [
                Delivery(
                    str(uuid.uuid4()), w.id, app, event, resource, body, "pending", 0, None,
                    None, now, now,
                )
                for w in hooks
            ]
        )  # fmt: skip
        self._wake.set()

    async def run(self) -> None:
        """Send due deliveries until cancelled."""
        pruned = 0.0
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            try:
                while True:
                    self._wake.clear()
                    blocked = self._start_due(client)
                    now = self.clock()
                    if now - pruned > 60:
                        pruned = now
                        self.store.prune(now - KEEP_SETTLED)
                    await self._sleep(blocked=blocked)
            finally:
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start_due(self, client: httpx.AsyncClient) -> bool:
        """Start the due deliveries there is room for; whether some due ones had to wait."""
        room = CONCURRENCY - len(self._sending)
        if room <= 0:
            return True
        started = waiting = 0
        busy = Counter(self._sending.values())
        for delivery in self.store.due(self.clock(), 500):
            hook = delivery.webhook
            if started >= room or delivery.id in self._sending or busy[hook] >= PER_WEBHOOK:
                waiting += 1
                continue
            started += 1
            busy[hook] += 1
            self._sending[delivery.id] = hook
            task = asyncio.create_task(self._send(client, delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return waiting > 0

    async def _sleep(self, *, blocked: bool) -> None:
        """Until a new event, a try ends, or the next retry is due (a second at most). With
        ``blocked`` (nothing could start: every due delivery's webhook has its tries in flight),
        only a try's end or a new event can change that."""
        due = None if blocked else self.store.next_due()
        wait = 1.0 if due is None else min(1.0, max(0.0, due - self.clock()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), wait or 0.01)

    async def _send(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        status: int | None = None
        error: str | None = None
        try:
            webhook = self.store.get(delivery.webhook)
            body = delivery.body.encode()
            response = await client.post(
                webhook.url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    HEADER: sign(self.store.secret(webhook.id), body),
                    "Twelve-Webhook-Id": webhook.id,
                    "Twelve-Event-Id": delivery.event,
                    "Twelve-Delivery-Id": delivery.id,
                    "User-Agent": "twelve-webhooks",
                },
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
        except LookupError:  # the webhook was removed meanwhile: its deliveries went with it
            self._sending.pop(delivery.id, None)
            return
        attempts = delivery.attempts + 1
        try:
            if status is not None and 200 <= status < 300:
                self.store.update(delivery.id, "delivered", attempts, status, None, None)
                return
            later = next_attempt(attempts, delivery.created_at, self.clock(), self.retry_base)
            state = "pending" if later is not None else "failed"
            self.store.update(delivery.id, state, attempts, status, error, later)
            if later is None:
                log.warning("webhook %s: event %s given up", delivery.webhook, delivery.event)
        finally:
            self._sending.pop(delivery.id, None)
            self._wake.set()
