"""The audit trail in the store's file: appended in a chain, never updated, read back and verified."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

from twelve.access.chain import GENESIS, Break, Entry, details_text, first_broken, sealed
from twelve.store.database import Database, Repository

# A written entry cannot be changed or removed through SQL short of dropping these; the chain
# shows it if someone does.
_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
)


class AuditLog(Repository):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        for trigger in _TRIGGERS:
            self._db.execute(trigger)

    def append(self, entry: Entry) -> Entry:
        """Write ``entry`` after the last one; its seq and hashes are set here."""
        with self._db.transaction() as db:
            last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
            written = sealed(Entry(**{**entry.__dict__, "seq": seq}), prev)
            db.execute(
                "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    written.seq,
                    written.at,
                    written.actor,
                    written.address,
                    written.app,
                    written.action,
                    details_text(written.details),
                    written.result,
                    written.release,
                    written.prev_hash,
                    written.hash,
                ),
            )
        return written

    def entries(self, app: str | None = None, limit: int = 100) -> list[Entry]:
        """The latest ``limit`` entries, oldest first (of one app, or all)."""
        if app is None:
            rows = self._db.connection.execute(
                "SELECT * FROM audit ORDER BY seq DESC LIMIT ?", (limit,)
            ).fetchall()
        else:
            rows = self._db.connection.execute(
                "SELECT * FROM audit WHERE app = ? ORDER BY seq DESC LIMIT ?", (app, limit)
            ).fetchall()
        return [_entry(r)[0] for r in reversed(rows)]

    def _all(self) -> Iterator[tuple[Entry, str]]:
        for row in self._db.execute("SELECT * FROM audit ORDER BY seq"):
            yield _entry(row)

    def verify(self) -> tuple[int, Break | None]:
        """How many entries there are, and the first that does not match the chain."""
        count = int(self._db.execute("SELECT COUNT(*) FROM audit").fetchone()[0])
        return count, first_broken(self._all())

    def release_authors(self, app: str, since: float) -> dict[int, str]:
        """Who made each release of ``app`` (the app of that name created at ``since``)."""
        rows = self._db.execute(
            "SELECT release, actor FROM audit WHERE app = ? AND at >= ? AND release IS NOT NULL",
            (app, since),
        )
        return {int(r["release"]): r["actor"] for r in rows.fetchall()}


def _entry(row: sqlite3.Row) -> tuple[Entry, str]:
    stored = row["details"]
    try:
        details = json.loads(stored)
    except ValueError:
        details = {"unreadable": stored}
    if not isinstance(details, dict):
        details = {"unreadable": stored}
    entry = Entry(
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        address=row["address"],
        app=row["app"],
        action=row["action"],
        details=details,
        result=row["result"],
        release=row["release"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
    return entry, stored
