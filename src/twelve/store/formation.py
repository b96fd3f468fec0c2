"""The formation: how many processes of each type an app should run."""

from __future__ import annotations

from twelve.store.database import Repository


class FormationStore(Repository):
    def get(self, app: str) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT type, quantity FROM formation WHERE app = ? ORDER BY rowid", (app,)
        )
        return {r["type"]: int(r["quantity"]) for r in rows.fetchall()}

    def set(self, app: str, formation: dict[str, int]) -> None:
        with self._db.transaction() as db:
            db.execute("DELETE FROM formation WHERE app = ?", (app,))
            db.executemany(
                "INSERT INTO formation (app, type, quantity) VALUES (?, ?, ?)",
                [(app, t, q) for t, q in formation.items()],
            )
