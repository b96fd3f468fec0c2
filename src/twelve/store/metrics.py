"""Metrics points in the state file: ten-second rows for an hour, one-minute rows for a week."""

from __future__ import annotations

import json
from typing import Final

from twelve.metrics.point import Point
from twelve.store.database import Repository

# Seconds each resolution is kept.
KEPT: Final = {10: 3600, 60: 7 * 86400}


class MetricStore(Repository):
    def add(self, app: str, kind: str, points: dict[int, Point], now: float) -> None:
        """Write ten-second ``points`` (by interval start) and add them into their minutes, then
        drop rows older than their resolution keeps, all in one transaction."""
        with self._db.transaction() as db:
            for at, point in points.items():
                db.execute(
                    "INSERT OR REPLACE INTO metrics VALUES (?, ?, 10, ?, ?)",
                    (app, kind, at, json.dumps(point.to_json())),
                )
                minute = at - at % 60
                row = db.execute(
                    "SELECT data FROM metrics WHERE app = ? AND type = ? AND resolution = 60"
                    " AND at = ?",
                    (app, kind, minute),
                ).fetchone()
                merged = Point.from_json(json.loads(row[0])) if row else Point()
                merged.merge(point)
                db.execute(
                    "INSERT OR REPLACE INTO metrics VALUES (?, ?, 60, ?, ?)",
                    (app, kind, minute, json.dumps(merged.to_json())),
                )
            for resolution, seconds in KEPT.items():
                db.execute(
                    "DELETE FROM metrics WHERE resolution = ? AND at < ?",
                    (resolution, int(now) - seconds),
                )

    def points(
        self, app: str, resolution: int, since: float, kind: str | None = None
    ) -> list[tuple[str, int, Point]]:
        """``(type, start, point)`` of ``app`` at ``resolution`` from ``since`` on, oldest first."""
        query = "SELECT type, at, data FROM metrics WHERE app = ? AND resolution = ? AND at >= ?"
        args: tuple[object, ...] = (app, resolution, int(since))
        if kind is not None:
            query += " AND type = ?"
            args += (kind,)
        rows = self._rows(query + " ORDER BY at, type", args)
        return [(r[0], int(r[1]), Point.from_json(json.loads(r[2]))) for r in rows]

    def forget(self, app: str) -> None:
        with self._db.transaction() as db:
            db.execute("DELETE FROM metrics WHERE app = ?", (app,))

    def count(self) -> int:
        with self._db.transaction() as db:
            return int(db.execute("SELECT count(*) FROM metrics").fetchone()[0])
