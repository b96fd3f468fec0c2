"""The scheduler's record: when each job was first seen, and every tick claimed, skipped or run.

A tick is claimed (one row, unique per app, job and tick) before its process starts; the row then
says the process's name, and its end. So a tick is never run twice, and what a daemon killed
between claim and start left undone is found by the next one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from twelve.store.database import Repository

CLAIMED, RUNNING, FINISHED, SKIPPED = "claimed", "running", "finished", "skipped"


@dataclass(frozen=True)
class CronRun:
    id: int
    app: str
    job: str
    tick: float | None  # None: run by hand (cron:run)
    state: str
    command: str
    release: int
    process: str | None
    claimed_at: float
    started_at: float | None
    ended_at: float | None
    exit_code: int | None
    note: str | None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.started_at)


def _run(row: sqlite3.Row) -> CronRun:
    """A row, its columns in the table's order (the dataclass's)."""
    return CronRun(*tuple(row))


class CronStore(Repository):
    def since(self, app: str, job: str, now: float) -> float:
        """When ``job`` was first seen (``now`` if this is the first time)."""
        with self._db.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO cron_jobs (app, job, since) VALUES (?, ?, ?)",
                (app, job, now),
            )
            row = db.execute(
                "SELECT since FROM cron_jobs WHERE app = ? AND job = ?", (app, job)
            ).fetchone()
        return float(row[0])

    def seen(self, app: str, job: str) -> float | None:
        """When ``job`` was first seen, if it was."""
        row = self._row("SELECT since FROM cron_jobs WHERE app = ? AND job = ?", (app, job))
        return None if row is None else float(row[0])

    def cursor(self, app: str, job: str) -> float | None:
        """The newest tick of ``job`` claimed or skipped."""
        tick = self._scalar("SELECT MAX(tick) FROM cron_runs WHERE app = ? AND job = ?", (app, job))
        return None if tick is None else float(tick)

    def claim(
        self,
        app: str,
        job: str,
        tick: float | None,
        command: str,
        release: int,
        now: float,
        state: str = CLAIMED,
        note: str | None = None,
    ) -> int | None:
        """Record ``tick`` as claimed (or skipped); its run's id, None if it was already."""
        with self._db.transaction() as db:
            try:
                cur = db.execute(
                    "INSERT INTO cron_runs (app, job, tick, state, command, release, claimed_at,"
                    " note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (app, job, tick, state, command, release, now, note),
                )
            except sqlite3.IntegrityError:
                return None
        return cur.lastrowid

    def name(self, run_id: int, process: str) -> None:
        with self._db.transaction() as db:
            db.execute("UPDATE cron_runs SET process = ? WHERE id = ?", (process, run_id))

    def started(self, run_id: int, at: float) -> None:
        with self._db.transaction() as db:
            db.execute(
                "UPDATE cron_runs SET state = ?, started_at = ? WHERE id = ? AND state = ?",
                (RUNNING, at, run_id, CLAIMED),
            )

    def finish(
        self, run_id: int, exit_code: int | None, at: float, note: str | None = None
    ) -> bool:
        """Record the end of a run (once: a second call changes nothing); whether it did."""
        with self._db.transaction() as db:
            cur = db.execute(
                "UPDATE cron_runs SET state = ?, exit_code = ?, ended_at = ?,"
                " started_at = COALESCE(started_at, ?), note = COALESCE(?, note)"
                " WHERE id = ? AND state IN (?, ?)",
                (FINISHED, exit_code, at, at, note, run_id, CLAIMED, RUNNING),
            )
        return cur.rowcount == 1

    def get(self, run_id: int) -> CronRun | None:
        row = self._row("SELECT * FROM cron_runs WHERE id = ?", (run_id,))
        return None if row is None else _run(row)

    def unfinished(self) -> list[CronRun]:
        rows = self._rows(
            "SELECT * FROM cron_runs WHERE state IN (?, ?) ORDER BY id",
            (CLAIMED, RUNNING),
        )
        return [_run(r) for r in rows]

    def runs(self, app: str, limit: int = 100, job: str | None = None) -> list[CronRun]:
        """The newest runs of ``app`` (of one job), newest first."""
        with self._db.transaction() as db:
            if job is None:
                rows = db.execute(
                    "SELECT * FROM cron_runs WHERE app = ? ORDER BY id DESC LIMIT ?", (app, limit)
                ).fetchall()
            else:
                rows = db.execute(
                    "SELECT * FROM cron_runs WHERE app = ? AND job = ? ORDER BY id DESC LIMIT ?",
                    (app, job, limit),
                ).fetchall()
        return [_run(r) for r in rows]
