"""An app's desired config: what its next release will carry (each release keeps a snapshot)."""

from __future__ import annotations

import sqlite3

from twelve.store.database import Repository
from twelve.store.secrets import Cipher


class ConfigStore(Repository):
    def get(self, app: str) -> dict[str, str]:
        rows = self._db.execute("SELECT key, value FROM config WHERE app = ? ORDER BY key", (app,))
        return {r["key"]: self._db.cipher.decrypt(r["value"]) for r in rows.fetchall()}

    def replace(self, app: str, config: dict[str, str]) -> None:
        with self._db.transaction() as db:
            write_config(db, self._db.cipher, app, config)


def write_config(db: sqlite3.Connection, cipher: Cipher, app: str, config: dict[str, str]) -> None:
    """Replace ``app``'s config inside the caller's transaction."""
    db.execute("DELETE FROM config WHERE app = ?", (app,))
    db.executemany(
        "INSERT INTO config (app, key, value) VALUES (?, ?, ?)",
        [(app, k, cipher.encrypt(v)) for k, v in config.items()],
    )
