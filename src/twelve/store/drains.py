"""Log drains: the URLs an app's log stream is sent to.

Drain URLs may hold a token, so they are encrypted like config: matched after decrypting.
"""

from __future__ import annotations

import time

from twelve.errors import Conflict, NotFound
from twelve.store.database import Repository


class DrainStore(Repository):
    def add(self, app: str, url: str) -> None:
        if url in self.of_app(app):
            raise Conflict(f"{app} already drains to that URL")
        self._db.execute(
            "INSERT INTO drains VALUES (?, ?, ?)", (app, self._db.cipher.encrypt(url), time.time())
        )

    def remove(self, app: str, url: str) -> None:
        rows = self._db.execute("SELECT rowid, url FROM drains WHERE app = ?", (app,)).fetchall()
        found = [r["rowid"] for r in rows if self._db.cipher.decrypt(r["url"]) == url]
        if not found:
            raise NotFound(f"{app} has no such drain", "see 'twelve drains'")
        self._db.execute("DELETE FROM drains WHERE rowid = ?", (found[0],))

    def of_app(self, app: str) -> list[str]:
        rows = self._db.execute("SELECT url FROM drains WHERE app = ? ORDER BY created_at", (app,))
        return [self._db.cipher.decrypt(r["url"]) for r in rows.fetchall()]
