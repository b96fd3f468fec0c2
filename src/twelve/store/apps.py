"""Apps: the root every other record of an app hangs from."""

from __future__ import annotations

import sqlite3
import time

from twelve.errors import Conflict, NotFound
from twelve.store.database import Repository
from twelve.store.models import App
from twelve.store.rows import RowMapping

APP = RowMapping(App)


class AppStore(Repository):
    def create(self, name: str) -> App:
        try:
            self._db.execute(
                "INSERT INTO apps (name, created_at) VALUES (?, ?)", (name, time.time())
            )
        except sqlite3.IntegrityError:
            raise Conflict(f"app {name!r} already exists", "choose another name") from None
        return self.get(name)

    def get(self, name: str) -> App:
        row = self._db.execute(
            "SELECT name, created_at FROM apps WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no app named {name!r}", "see 'twelve apps' for the apps that exist")
        return APP.read(row)

    def all(self) -> list[App]:
        rows = self._db.execute("SELECT name, created_at FROM apps ORDER BY name").fetchall()
        return [APP.read(r) for r in rows]

    def delete(self, name: str) -> None:
        """The app and its processes, releases and builds, in one transaction."""
        self.get(name)
        with self._db.transaction() as db:
            db.execute("DELETE FROM processes WHERE app = ?", (name,))
            db.execute("DELETE FROM releases WHERE app = ?", (name,))
            db.execute("DELETE FROM builds WHERE app = ?", (name,))
            db.execute("DELETE FROM apps WHERE name = ?", (name,))

    def next_counter(self, app: str) -> int:
        """A per-app number for one-off and release-phase processes (run.N, release.N)."""
        with self._db.transaction() as db:
            db.execute("UPDATE apps SET counter = counter + 1 WHERE name = ?", (app,))
            row = db.execute("SELECT counter FROM apps WHERE name = ?", (app,)).fetchone()
        if row is None:
            raise NotFound(f"no app named {app!r}")
        return int(row[0])
