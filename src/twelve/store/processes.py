"""Process records: what the daemon started, so a later life of the daemon can find and end it."""

from __future__ import annotations

import dataclasses

from twelve.store.database import Repository
from twelve.store.models import ProcessRecord
from twelve.store.rows import RowMapping

PROCESS = RowMapping(ProcessRecord)


class ProcessStore(Repository):
    def record(self, record: ProcessRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO processes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            dataclasses.astuple(record),
        )

    def forget(self, app: str, name: str, pid: int) -> None:
        self._db.execute(
            "DELETE FROM processes WHERE app = ? AND name = ? AND pid = ?", (app, name, pid)
        )

    def all(self) -> list[ProcessRecord]:
        return [PROCESS.read(r) for r in self._db.execute("SELECT * FROM processes").fetchall()]
