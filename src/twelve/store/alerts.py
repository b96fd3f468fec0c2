"""Alert thresholds per app and metric (``alerts:set``)."""

from __future__ import annotations

from twelve.store.database import Repository


class AlertStore(Repository):
    def get(self, app: str) -> dict[str, float]:
        rows = self._rows(
            "SELECT metric, threshold FROM alerts WHERE app = ? ORDER BY metric", (app,)
        )
        return {r[0]: float(r[1]) for r in rows}

    def all(self) -> dict[str, dict[str, float]]:
        rows = self._rows("SELECT app, metric, threshold FROM alerts")
        found: dict[str, dict[str, float]] = {}
        for app, metric, threshold in rows:
            found.setdefault(app, {})[metric] = float(threshold)
        return found

    def set(self, app: str, changes: dict[str, float | None]) -> None:
        with self._db.transaction() as db:
            for metric, threshold in changes.items():
                db.execute("DELETE FROM alerts WHERE app = ? AND metric = ?", (app, metric))
                if threshold is not None:
                    db.execute("INSERT INTO alerts VALUES (?, ?, ?)", (app, metric, threshold))
