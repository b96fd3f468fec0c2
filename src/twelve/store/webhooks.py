"""Webhooks and their deliveries in the state file; secrets encrypted as config values are."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from twelve.errors import NotFound
from twelve.store.database import Repository


@dataclass(frozen=True)
class Webhook:
    id: str
    app: str
    url: str
    include: tuple[str, ...]
    created_at: float


@dataclass(frozen=True)
class Delivery:
    id: str
    webhook: str
    app: str
    event: str  # the event's id: the same in every webhook's delivery of it, and every retry
    resource: str
    body: str
    state: str  # pending, delivered, failed
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: float
    next_at: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webhook": self.webhook,
            "event": self.event,
            "resource": self.resource,
            "state": self.state,
            "attempts": self.attempts,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "created_at": self.created_at,
            "next_attempt_at": self.next_at,
        }


def _webhook(row: sqlite3.Row) -> Webhook:
    return Webhook(
        row["id"], row["app"], row["url"], tuple(json.loads(row["include"])), row["created_at"]
    )


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(*(row[k] for k in row.keys()))  # noqa: SIM118 (sqlite3.Row is not a dict)


class WebhookStore(Repository):
    def add(self, webhook: Webhook, secret: str) -> None:
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO webhooks VALUES (?, ?, ?, ?, ?, ?)",
                (
                    webhook.id,
                    webhook.app,
                    webhook.url,
                    json.dumps(list(webhook.include)),
                    self._db.cipher.encrypt(secret),
                    webhook.created_at,
                ),
            )

    def of_app(self, app: str) -> list[Webhook]:
        rows = self._rows("SELECT * FROM webhooks WHERE app = ? ORDER BY created_at", (app,))
        return [_webhook(r) for r in rows]

    def get(self, webhook_id: str) -> Webhook:
        """The webhook; KeyError when it was removed."""
        row = self._row("SELECT * FROM webhooks WHERE id = ?", (webhook_id,))
        if row is None:
            raise KeyError(webhook_id)
        return _webhook(row)

    def secret(self, webhook_id: str) -> str:
        """The webhook's secret; KeyError when it was removed."""
        row = self._row("SELECT secret FROM webhooks WHERE id = ?", (webhook_id,))
        if row is None:
            raise KeyError(webhook_id)
        return self._db.cipher.decrypt(row[0])

    def remove(self, app: str, webhook_id: str) -> None:
        with self._db.transaction() as db:
            gone = db.execute(
                "DELETE FROM webhooks WHERE app = ? AND id = ?", (app, webhook_id)
            ).rowcount
        if not gone:
            raise NotFound(f"{app} has no webhook {webhook_id}", "see 'twelve webhooks -a APP'")

    def queue(self, deliveries: list[Delivery]) -> None:
        with self._db.transaction() as db:
            db.executemany(
                "INSERT INTO webhook_deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        d.id, d.webhook, d.app, d.event, d.resource, d.body, d.state,
                        d.attempts, d.last_status, d.last_error, d.created_at, d.next_at,
                    )
                    for d in deliveries
                ],
            )  # fmt: skip

    def due(self, now: float, limit: int) -> list[Delivery]:
        """Pending deliveries whose time has come, oldest first."""
        rows = self._rows(
            "SELECT * FROM webhook_deliveries WHERE state = 'pending' AND next_at <= ?"
            " ORDER BY next_at LIMIT ?",
            (now, limit),
        )
        return [_delivery(r) for r in rows]

    def next_due(self) -> float | None:
        due = self._scalar("SELECT min(next_at) FROM webhook_deliveries WHERE state = 'pending'")
        return None if due is None else float(due)

    def update(
        self,
        delivery_id: str,
        state: str,
        attempts: int,
        status: int | None,
        error: str | None,
        next_at: float | None,
    ) -> None:
        with self._db.transaction() as db:
            db.execute(
                "UPDATE webhook_deliveries SET state = ?, attempts = ?, last_status = ?,"
                " last_error = ?, next_at = ? WHERE id = ?",
                (state, attempts, status, error, next_at, delivery_id),
            )

    def deliveries(self, app: str, limit: int = 100) -> list[Delivery]:
        rows = self._rows(
            "SELECT * FROM webhook_deliveries WHERE app = ? ORDER BY created_at DESC, id LIMIT ?",
            (app, limit),
        )
        return [_delivery(r) for r in rows]

    def prune(self, before: float) -> None:
        """Deliveries settled before ``before`` go (what ``webhooks:deliveries`` shows is recent)."""
        with self._db.transaction() as db:
            db.execute(
                "DELETE FROM webhook_deliveries WHERE state != 'pending' AND created_at < ?",
                (before,),
            )
