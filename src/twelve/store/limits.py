"""Resource limits per process type, kept beside the formation."""

from __future__ import annotations

from twelve.store.database import Repository
from twelve.values import Limits


class LimitStore(Repository):
    def get(self, app: str) -> dict[str, Limits]:
        """The limits of each process type of ``app`` that has any."""
        rows = self._db.execute(
            "SELECT type, memory, cpu FROM limits WHERE app = ? ORDER BY type", (app,)
        ).fetchall()
        return {r[0]: Limits(r[1], r[2]) for r in rows}

    def set(self, app: str, process_type: str, limits: Limits) -> None:
        """Replace a type's limits; a type with neither limit is removed."""
        with self._db.transaction() as db:
            db.execute("DELETE FROM limits WHERE app = ? AND type = ?", (app, process_type))
            if limits.memory or limits.cpu:
                db.execute(
                    "INSERT INTO limits (app, type, memory, cpu) VALUES (?, ?, ?, ?)",
                    (app, process_type, limits.memory or None, limits.cpu or None),
                )
