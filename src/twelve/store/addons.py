"""Add-on records: which app owns which resource, on which server, under which variable."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from twelve.errors import Conflict, NotFound
from twelve.store.database import Repository
from twelve.store.rows import RowMapping


@dataclass(frozen=True)
class Addon:
    """One add-on. ``url`` is the credential the app gets; ``resource`` is what removal needs."""

    name: str
    app: str
    service: str  # postgres | redis | a URL scheme for attached URLs
    provider: str  # admin | twelve | external
    server: str  # host:port, no credential
    config_var: str
    attached: bool
    url: str
    resource: dict[str, Any]
    created_at: float
    destroyed_at: float | None = None

    @property
    def provisioned(self) -> bool:
        """Whether twelve made the resource (and so removes its data on destroy)."""
        return self.provider != "external"


ADDON = RowMapping(
    Addon, json=frozenset({"resource"}), secret=frozenset({"url"}), flags=frozenset({"attached"})
)


class AddonStore(Repository):
    """The ``addons`` table."""

    def add(self, addon: Addon) -> None:
        with self._db.transaction() as db:
            try:
                db.execute(
                    "INSERT INTO addons VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    (
                        addon.name,
                        addon.app,
                        addon.service,
                        addon.provider,
                        addon.server,
                        addon.config_var,
                        int(addon.attached),
                        self._db.cipher.encrypt(addon.url),
                        json.dumps(addon.resource),
                        addon.created_at or time.time(),
                    ),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"an add-on named {addon.name} exists already") from None

    def get(self, name: str) -> Addon:
        row = self._row("SELECT * FROM addons WHERE name = ? AND destroyed_at IS NULL", (name,))
        if row is None:
            raise NotFound(f"no add-on named {name!r}", "see 'twelve addons -a APP'")
        return ADDON.read(row, self._db.cipher)

    def live(self, app: str | None = None) -> list[Addon]:
        """Live add-ons, of one app or all, oldest first."""
        query = "SELECT * FROM addons WHERE destroyed_at IS NULL"
        args: tuple[str, ...] = ()
        if app is not None:
            query += " AND app = ?"
            args = (app,)
        rows = self._rows(query + " ORDER BY created_at, name", args)
        return [ADDON.read(r, self._db.cipher) for r in rows]

    def on_server(self, service: str, server: str) -> list[Addon]:
        """Live add-ons twelve made on one server (to choose free resources there)."""
        return [a for a in self.live() if a.service == service and a.server == server]

    def managed_vars(self, app: str) -> set[str]:
        """Every variable an add-on of ``app`` has ever set, destroyed ones included."""
        rows = self._rows("SELECT config_var FROM addons WHERE app = ?", (app,))
        return {r[0] for r in rows}

    def set_attachment(self, name: str, config_var: str, attached: bool) -> None:
        with self._db.transaction() as db:
            db.execute(
                "UPDATE addons SET config_var = ?, attached = ? WHERE name = ?",
                (config_var, int(attached), name),
            )

    def set_credentials(self, name: str, url: str, resource: dict[str, Any]) -> None:
        """A rotated credential: the add-on's new URL and what removing it now needs."""
        with self._db.transaction() as db:
            db.execute(
                "UPDATE addons SET url = ?, resource = ? WHERE name = ?",
                (self._db.cipher.encrypt(url), json.dumps(resource), name),
            )

    def mark_destroyed(self, name: str) -> None:
        """Keep the row as a tombstone without its credential."""
        with self._db.transaction() as db:
            db.execute(
                "UPDATE addons SET destroyed_at = ?, attached = 0, url = '' WHERE name = ?",
                (time.time(), name),
            )

    def delete(self, name: str) -> None:
        """Forget a row entirely (an add-on whose creation was undone)."""
        with self._db.transaction() as db:
            db.execute("DELETE FROM addons WHERE name = ?", (name,))
