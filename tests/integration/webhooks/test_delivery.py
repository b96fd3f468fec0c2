"""Webhook deliveries to a real receiver on loopback: signed, retried while it fails, each event
counted once, and a receiver that never answers holding up neither the platform nor the others."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support import wait_for_async
from twelve.store import Store
from twelve.store.webhooks import Webhook, WebhookStore
from twelve.webhooks.sender import Webhooks
from twelve.webhooks.signing import HEADER, verify


class Receiver:
    """An HTTP server that checks each request's signature, answers 500 until ``failing_until``
    (a time), then 200, and counts the events it accepted by their id."""

    def __init__(self, secret: str, failing_for: float = 0.0, hang: bool = False) -> None:
        self.secret = secret
        self.failing_until = time.monotonic() + failing_for
        self.hang = hang
        self.accepted: Counter[str] = Counter()
        self.refused = 0
        self.bad_signatures = 0
        self.release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.hang:
                    receiver.release.wait(30)
                    return
                if not verify(receiver.secret, body, self.headers.get(HEADER, "")):
                    receiver.bad_signatures += 1
                    status = 401
                elif time.monotonic() < receiver.failing_until:
                    receiver.refused += 1
                    status = 500
                else:
                    receiver.accepted[json.loads(body)["id"]] += 1
                    status = 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.close()


def _store(tmp_path: Path) -> tuple[Store, WebhookStore]:
    store = Store(tmp_path / "twelve.db")
    store.apps.create("hooked")
    return store, store.webhooks


def _add(hooks: WebhookStore, name: str, url: str, include: tuple[str, ...]) -> None:
    hooks.add(Webhook(name, "hooked", url, include, time.time()), secret=f"secret-{name}")


def test_a_failing_receiver_gets_every_event_exactly_once_after_the_retries(tmp_path, receivers):
    """It answers 500 for its first second: every event is retried with backoff until accepted,
    each accepted once, every signature checks, and the deliveries say so."""
    store, hooks = _store(tmp_path)
    receiver = Receiver("secret-a", failing_for=1.0)
    receivers.append(receiver)
    _add(hooks, "a", receiver.url, ("release", "dyno"))

    async def scenario() -> None:
        webhooks = Webhooks(hooks, time.time, retry_base=0.1, timeout=5.0)
        sender = asyncio.create_task(webhooks.run())
        try:
            for version in range(1, 6):
                webhooks.notify("hooked", "release", "create", {"version": version})
            webhooks.notify("hooked", "build", "update", {"id": 1})  # not included: not sent
            await wait_for_async(lambda: len(receiver.accepted) == 5, 20, "the five events")
            await asyncio.sleep(0.5)  # anything sent twice would arrive in this time
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    asyncio.run(scenario())
    assert receiver.refused > 0, "the receiver failed at first"
    assert receiver.bad_signatures == 0
    assert set(receiver.accepted.values()) == {1}
    deliveries = hooks.deliveries("hooked")
    assert len(deliveries) == 5
    assert {d.state for d in deliveries} == {"delivered"}
    assert {d.last_status for d in deliveries} == {200}
    assert max(d.attempts for d in deliveries) > 1
    store.close()


def test_a_receiver_that_never_answers_holds_up_neither_events_nor_other_webhooks(
    tmp_path, receivers
):
    store, hooks = _store(tmp_path)
    dead = Receiver("secret-dead", hang=True)
    alive = Receiver("secret-alive")
    receivers.extend([dead, alive])
    _add(hooks, "dead", dead.url, ("release",))
    _add(hooks, "alive", alive.url, ("release",))

    async def scenario() -> None:
        webhooks = Webhooks(hooks, time.time, retry_base=0.1, timeout=20.0)
        sender = asyncio.create_task(webhooks.run())
        try:
            for version in range(20):
                webhooks.notify("hooked", "release", "create", {"version": version})
            await wait_for_async(
                lambda: len(alive.accepted) == 20, 15, "the live receiver's events"
            )
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    asyncio.run(scenario())
    pending = [d for d in hooks.deliveries("hooked") if d.webhook == "dead"]
    assert len(pending) == 20 and {d.state for d in pending} == {"pending"}
    store.close()
