"""Backup records and schedules: the ``backups`` and ``backup_schedules`` tables."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from twelve.backups.schedule import Schedule
from twelve.errors import NotFound, UsageError
from twelve.store.database import Repository
from twelve.store.rows import RowMapping

# capturing → verifying → verified | failed (a capture or a verification went wrong)
CAPTURING, VERIFYING, VERIFIED, FAILED = "capturing", "verifying", "verified", "failed"


def backup_id(number: int) -> str:
    return f"b{number:03d}"


def parse_id(text: str) -> int:
    """``b004`` → 4; a UsageError for anything else."""
    body = text.strip().lower().removeprefix("b")
    if not body.isascii() or not body.isdigit() or not 0 < int(body) < 10**9:
        raise UsageError(f"{text!r} is not a backup id", "backups are named b001, b002, ...")
    return int(body)


@dataclass(frozen=True)
class Backup:
    app: str
    number: int
    addon: str
    service: str
    status: str
    reason: str
    server_version: str
    size: int  # bytes of the dump or snapshot
    stored_size: int  # bytes of the sealed file
    checksum: str  # sha256 of the dump, hex
    scheduled: bool
    started_at: float
    finished_at: float | None
    verified_at: float | None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return backup_id(self.number)

    @property
    def file_name(self) -> str:
        """The sealed file's name in storage."""
        return f"{self.app}/{self.id}.{'dump' if self.service == 'postgres' else 'rdb'}.sealed"

    @property
    def duration(self) -> float | None:
        return None if self.finished_at is None else self.finished_at - self.started_at


BACKUP = RowMapping(Backup, json=frozenset({"details"}), flags=frozenset({"scheduled"}))


class BackupStore(Repository):
    def start(self, app: str, addon: str, service: str, scheduled: bool, now: float) -> Backup:
        """A new record in ``capturing``, numbered after every backup the app ever had."""
        with self._db.transaction() as db:
            row = db.execute(
                "SELECT coalesce(max(number), 0) FROM backups WHERE app = ?", (app,)
            ).fetchone()
            number = int(row[0]) + 1
            db.execute(
                "INSERT INTO backups (app, number, addon, service, status, scheduled, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (app, number, addon, service, CAPTURING, int(scheduled), now),
            )
        return self.get(app, number)

    def update(self, app: str, number: int, **values: Any) -> Backup:
        if "details" in values:
            values["details"] = json.dumps(values["details"], sort_keys=True)
        columns = ", ".join(f"{k} = ?" for k in values)
        with self._db.transaction() as db:
            db.execute(
                f"UPDATE backups SET {columns} WHERE app = ? AND number = ?",  # noqa: S608
                (*values.values(), app, number),
            )
        return self.get(app, number)

    def get(self, app: str, number: int) -> Backup:
        row = self._row(
            "SELECT * FROM backups WHERE app = ? AND number = ? AND deleted_at IS NULL",
            (app, number),
        )
        if row is None:
            raise NotFound(
                f"{app} has no backup {backup_id(number)}", f"see 'twelve backups -a {app}'"
            )
        return BACKUP.read(row)

    def of_app(self, app: str) -> list[Backup]:
        rows = self._rows(
            "SELECT * FROM backups WHERE app = ? AND deleted_at IS NULL ORDER BY number",
            (app,),
        )
        return [BACKUP.read(r) for r in rows]

    def unfinished(self) -> list[Backup]:
        """Backups a previous daemon left capturing or verifying."""
        rows = self._rows(
            "SELECT * FROM backups WHERE status IN (?, ?) AND deleted_at IS NULL",
            (CAPTURING, VERIFYING),
        )
        return [BACKUP.read(r) for r in rows]

    def mark_deleted(self, app: str, number: int, now: float) -> None:
        with self._db.transaction() as db:
            db.execute(
                "UPDATE backups SET deleted_at = ? WHERE app = ? AND number = ?",
                (now, app, number),
            )

    # Schedules
    def set_schedule(self, addon: str, app: str, schedule: Schedule, since: float) -> None:
        with self._db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO backup_schedules VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    addon,
                    app,
                    schedule.hour,
                    schedule.minute,
                    schedule.zone,
                    schedule.daily,
                    schedule.weekly,
                    since,
                ),
            )

    def ran(self, addon: str, at: float) -> None:
        """The scheduled run that started at ``at`` is done: the next is owed after it."""
        with self._db.transaction() as db:
            db.execute("UPDATE backup_schedules SET since = ? WHERE addon = ?", (at, addon))

    def remove_schedule(self, addon: str) -> bool:
        with self._db.transaction() as db:
            cursor = db.execute("DELETE FROM backup_schedules WHERE addon = ?", (addon,))
        return cursor.rowcount > 0

    def schedules(self, app: str | None = None) -> list[tuple[str, str, Schedule, float]]:
        """(add-on, app, schedule, since) of every schedule, or of one app's."""
        query = "SELECT * FROM backup_schedules"
        args: tuple[str, ...] = ()
        if app is not None:
            query += " WHERE app = ?"
            args = (app,)
        rows = self._rows(query + " ORDER BY addon", args)
        return [
            (
                r["addon"],
                r["app"],
                Schedule(r["hour"], r["minute"], r["zone"], r["daily"], r["weekly"]),
                r["since"],
            )
            for r in rows
        ]
