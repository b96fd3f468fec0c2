"""Custom domains: which hostname routes to which app."""

from __future__ import annotations

import sqlite3

from twelve.errors import Conflict, NotFound
from twelve.store.database import Repository


class DomainStore(Repository):
    def add(self, app: str, hostname: str) -> None:
        try:
            self._db.execute("INSERT INTO domains VALUES (?, ?)", (hostname, app))
        except sqlite3.IntegrityError:
            raise Conflict(f"domain {hostname} is already in use") from None

    def remove(self, app: str, hostname: str) -> None:
        cur = self._db.execute(
            "DELETE FROM domains WHERE app = ? AND hostname = ?", (app, hostname)
        )
        if cur.rowcount == 0:
            raise NotFound(f"{app} has no domain {hostname}", "see 'twelve domains'")

    def pairs(self, app: str | None = None) -> list[tuple[str, str]]:
        """(hostname, app) pairs, for one app or all."""
        if app is None:
            rows = self._db.execute("SELECT hostname, app FROM domains ORDER BY hostname")
        else:
            rows = self._db.execute(
                "SELECT hostname, app FROM domains WHERE app = ? ORDER BY hostname", (app,)
            )
        return [(r["hostname"], r["app"]) for r in rows.fetchall()]
