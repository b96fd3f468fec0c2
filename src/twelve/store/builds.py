"""Builds: each an immutable slug made from one source, whatever became of it."""

from __future__ import annotations

import json
import time
from typing import Any

from twelve.errors import NotFound
from twelve.store.database import Repository
from twelve.store.models import Build
from twelve.store.rows import RowMapping

BUILD = RowMapping(Build, columns={"commit": "commit_sha"}, json=frozenset({"procfile", "runtime"}))


class BuildStore(Repository):
    def create(self, app: str, source: str) -> Build:
        cur = self._db.execute(
            "INSERT INTO builds (app, status, source, created_at) VALUES (?, 'pending', ?, ?)",
            (app, source, time.time()),
        )
        return self.get(int(cur.lastrowid or 0))

    def finish(
        self,
        build_id: int,
        *,
        status: str,
        commit: str | None = None,
        builder: str | None = None,
        slug_dir: str | None = None,
        procfile: dict[str, str] | None = None,
        runtime: dict[str, Any] | None = None,
    ) -> Build:
        self._db.execute(
            "UPDATE builds SET status=?, commit_sha=?, builder=?, slug_dir=?, procfile=?, runtime=?,"
            " finished_at=? WHERE id=?",
            (
                status,
                commit,
                builder,
                slug_dir,
                json.dumps(procfile or {}),
                json.dumps(runtime or {}),
                time.time(),
                build_id,
            ),
        )
        return self.get(build_id)

    def get(self, build_id: int) -> Build:
        row = self._db.execute("SELECT * FROM builds WHERE id = ?", (build_id,)).fetchone()
        if row is None:
            raise NotFound(f"no build {build_id}")
        return BUILD.read(row)

    def of_app(self, app: str) -> list[Build]:
        rows = self._db.execute("SELECT * FROM builds WHERE app = ? ORDER BY id", (app,))
        return [BUILD.read(r) for r in rows.fetchall()]
