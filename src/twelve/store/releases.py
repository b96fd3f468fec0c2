"""Releases: a build plus a config snapshot, numbered per app.

The latest release of an app is its live release: a release is only written once its processes are
up, so a failed build, release phase or rollout leaves no record behind.
"""

from __future__ import annotations

import json
import time

from twelve.errors import Conflict, NotFound
from twelve.store.config import write_config
from twelve.store.database import Repository
from twelve.store.models import Release
from twelve.store.rows import RowMapping

RELEASE = RowMapping(
    Release,
    columns={"commit": "commit_sha"},
    json=frozenset({"config", "procfile"}),
    secret=frozenset({"config"}),
)
_WITH_BUILD = (
    "SELECT r.*, b.commit_sha, b.slug_dir FROM releases r LEFT JOIN builds b ON b.id = r.build_id"
)


class ReleaseStore(Repository):
    def add(
        self,
        app: str,
        version: int,
        build_id: int | None,
        config: dict[str, str],
        procfile: dict[str, str],
        description: str,
    ) -> Release:
        """Record a release that is now live; also makes its config the app's config."""
        cipher = self._db.cipher
        with self._db.transaction() as db:
            latest = db.execute(
                "SELECT MAX(version) FROM releases WHERE app = ?", (app,)
            ).fetchone()[0]
            if version != (latest or 0) + 1:
                raise Conflict(f"release v{version} of {app} is out of order")
            db.execute(
                "INSERT INTO releases VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    app,
                    version,
                    build_id,
                    cipher.encrypt(json.dumps(config)),
                    json.dumps(procfile),
                    description,
                    time.time(),
                ),
            )
            write_config(db, cipher, app, config)
        return self.get(app, version)

    def next_version(self, app: str) -> int:
        row = self._db.execute("SELECT MAX(version) FROM releases WHERE app = ?", (app,)).fetchone()
        return int(row[0] or 0) + 1

    def get(self, app: str, version: int) -> Release:
        row = self._db.execute(
            f"{_WITH_BUILD} WHERE r.app = ? AND r.version = ?",
            (app, version),
        ).fetchone()
        if row is None:
            raise NotFound(f"{app} has no release v{version}", "see 'twelve releases'")
        return RELEASE.read(row, self._db.cipher)

    def current(self, app: str) -> Release | None:
        row = self._db.execute(
            f"{_WITH_BUILD} WHERE r.app = ? ORDER BY r.version DESC LIMIT 1",
            (app,),
        ).fetchone()
        return None if row is None else RELEASE.read(row, self._db.cipher)

    def of_app(self, app: str) -> list[Release]:
        """Newest first."""
        rows = self._db.execute(
            f"{_WITH_BUILD} WHERE r.app = ? ORDER BY r.version DESC",
            (app,),
        )
        return [RELEASE.read(r, self._db.cipher) for r in rows.fetchall()]
