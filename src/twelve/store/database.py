"""The state file: one SQLite connection, its migrations and its transactions, shared by every
repository in this package."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from twelve.store.schema import MIGRATIONS
from twelve.store.secrets import Cipher


class Database:
    """Access to the state file. Not thread-safe: the daemon uses it from its event loop only."""

    def __init__(self, path: Path, cipher: Cipher | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.cipher = cipher or Cipher.plaintext()
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        os.chmod(path, 0o600)  # the daemon's alone (SQLite gives -wal and -shm the same mode)
        self.connection.row_factory = sqlite3.Row
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA foreign_keys=ON")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def close(self) -> None:
        self.connection.close()

    def execute(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        """One statement outside any transaction (SQLite commits it on its own)."""
        return self.connection.execute(sql, args)

    def _migrate(self) -> None:
        current = int(self.connection.execute("PRAGMA user_version").fetchone()[0])
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self.transaction():
                for statement in filter(str.strip, script.split(";")):
                    self.connection.execute(statement)
                self.connection.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block as one transaction: all of it is written, or none."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")


class Repository:
    """The queries of one aggregate's tables, over the state file's one connection."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Every row ``sql`` finds, read in one transaction."""
        with self._db.transaction() as db:
            return db.execute(sql, args).fetchall()

    def _row(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Row | None:
        """The first row ``sql`` finds, if any, read in one transaction."""
        with self._db.transaction() as db:
            row: sqlite3.Row | None = db.execute(sql, args).fetchone()
            return row

    def _scalar(self, sql: str, args: tuple[object, ...] = ()) -> Any:
        """The one value an aggregate (``MAX``, ``MIN``, ``COUNT``) answers."""
        with self._db.transaction() as db:
            return db.execute(sql, args).fetchone()[0]
