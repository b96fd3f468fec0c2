"""The store: one SQLite file, opened by the daemon, with one method per question the platform asks.

The latest release of an app is its live release: a release is only written once its processes are
up, so a failed build, release phase or rollout leaves no record behind.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from twelve.errors import Conflict, NotFound
from twelve.store.models import App, Build, ProcessRecord, Release
from twelve.store.schema import MIGRATIONS
from twelve.store.secrets import Cipher


class Store:
    """Access to the state file. Not thread-safe: the daemon uses it from its event loop only."""

    def __init__(self, path: Path, cipher: Cipher | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.cipher = cipher or Cipher.plaintext()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        os.chmod(path, 0o600)  # the daemon's alone (SQLite gives -wal and -shm the same mode)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def close(self) -> None:
        self._db.close()

    def _migrate(self) -> None:
        current = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self.transaction():
                for statement in filter(str.strip, script.split(";")):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block as one transaction: all of it is written, or none."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # Apps
    def create_app(self, name: str) -> App:
        try:
            self._db.execute(
                "INSERT INTO apps (name, created_at) VALUES (?, ?)", (name, time.time())
            )
        except sqlite3.IntegrityError:
            raise Conflict(f"app {name!r} already exists", "choose another name") from None
        return self.get_app(name)

    def get_app(self, name: str) -> App:
        row = self._db.execute(
            "SELECT name, created_at FROM apps WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no app named {name!r}", "see 'twelve apps' for the apps that exist")
        return App(row["name"], row["created_at"])

    def list_apps(self) -> list[App]:
        rows = self._db.execute("SELECT name, created_at FROM apps ORDER BY name").fetchall()
        return [App(r["name"], r["created_at"]) for r in rows]

    def delete_app(self, name: str) -> None:
        self.get_app(name)
        with self.transaction() as db:
            db.execute("DELETE FROM processes WHERE app = ?", (name,))
            db.execute("DELETE FROM releases WHERE app = ?", (name,))
            db.execute("DELETE FROM builds WHERE app = ?", (name,))
            db.execute("DELETE FROM apps WHERE name = ?", (name,))

    def next_counter(self, app: str) -> int:
        """A per-app number for one-off and release-phase processes (run.N, release.N)."""
        with self.transaction() as db:
            db.execute("UPDATE apps SET counter = counter + 1 WHERE name = ?", (app,))
            row = db.execute("SELECT counter FROM apps WHERE name = ?", (app,)).fetchone()
        if row is None:
            raise NotFound(f"no app named {app!r}")
        return int(row[0])

    def reencrypt(self) -> int:
        """Rewrite every stored secret with the current key (rotation, or first encryption)."""
        count = 0
        with self.transaction() as db:
            for table, key_cols, col in (
                ("config", ("app", "key"), "value"),
                ("releases", ("app", "version"), "config"),
                ("addons", ("name",), "url"),
                ("drains", ("rowid",), "url"),
            ):
                rows = db.execute(f"SELECT {', '.join(key_cols)}, {col} FROM {table}").fetchall()  # noqa: S608
                for row in rows:
                    stored = row[col]
                    if not stored:
                        continue
                    rotated = self.cipher.rotate(stored)
                    if rotated != stored:
                        where = " AND ".join(f"{k} = ?" for k in key_cols)
                        db.execute(
                            f"UPDATE {table} SET {col} = ? WHERE {where}",  # noqa: S608
                            (rotated, *(row[k] for k in key_cols)),
                        )
                        count += 1
        if count:
            self._db.execute("VACUUM")  # freed pages would still hold the old bytes
        return count

    # Builds
    def create_build(self, app: str, source: str) -> Build:
        cur = self._db.execute(
            "INSERT INTO builds (app, status, source, created_at) VALUES (?, 'pending', ?, ?)",
            (app, source, time.time()),
        )
        return self.get_build(int(cur.lastrowid or 0))

    def finish_build(
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
        return self.get_build(build_id)

    def get_build(self, build_id: int) -> Build:
        row = self._db.execute("SELECT * FROM builds WHERE id = ?", (build_id,)).fetchone()
        if row is None:
            raise NotFound(f"no build {build_id}")
        return _build(row)

    def list_builds(self, app: str) -> list[Build]:
        rows = self._db.execute("SELECT * FROM builds WHERE app = ? ORDER BY id", (app,))
        return [_build(r) for r in rows.fetchall()]

    # Config (the desired config; each release keeps its own snapshot)
    def get_config(self, app: str) -> dict[str, str]:
        rows = self._db.execute("SELECT key, value FROM config WHERE app = ? ORDER BY key", (app,))
        return {r["key"]: self.cipher.decrypt(r["value"]) for r in rows.fetchall()}

    def replace_config(self, app: str, config: dict[str, str]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM config WHERE app = ?", (app,))
            db.executemany(
                "INSERT INTO config (app, key, value) VALUES (?, ?, ?)",
                [(app, k, self.cipher.encrypt(v)) for k, v in config.items()],
            )

    # Releases
    def add_release(
        self,
        app: str,
        version: int,
        build_id: int | None,
        config: dict[str, str],
        procfile: dict[str, str],
        description: str,
    ) -> Release:
        """Record a release that is now live; also makes its config the app's config."""
        with self.transaction() as db:
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
                    self.cipher.encrypt(json.dumps(config)),
                    json.dumps(procfile),
                    description,
                    time.time(),
                ),
            )
            db.execute("DELETE FROM config WHERE app = ?", (app,))
            db.executemany(
                "INSERT INTO config (app, key, value) VALUES (?, ?, ?)",
                [(app, k, self.cipher.encrypt(v)) for k, v in config.items()],
            )
        return self.get_release(app, version)

    def next_release_version(self, app: str) -> int:
        row = self._db.execute("SELECT MAX(version) FROM releases WHERE app = ?", (app,)).fetchone()
        return int(row[0] or 0) + 1

    def get_release(self, app: str, version: int) -> Release:
        row = self._db.execute(
            "SELECT r.*, b.commit_sha, b.slug_dir FROM releases r LEFT JOIN builds b"
            " ON b.id = r.build_id WHERE r.app = ? AND r.version = ?",
            (app, version),
        ).fetchone()
        if row is None:
            raise NotFound(f"{app} has no release v{version}", "see 'twelve releases'")
        return _release(row, self.cipher)

    def current_release(self, app: str) -> Release | None:
        row = self._db.execute(
            "SELECT r.*, b.commit_sha, b.slug_dir FROM releases r LEFT JOIN builds b"
            " ON b.id = r.build_id WHERE r.app = ? ORDER BY r.version DESC LIMIT 1",
            (app,),
        ).fetchone()
        return None if row is None else _release(row, self.cipher)

    def list_releases(self, app: str) -> list[Release]:
        rows = self._db.execute(
            "SELECT r.*, b.commit_sha, b.slug_dir FROM releases r LEFT JOIN builds b"
            " ON b.id = r.build_id WHERE r.app = ? ORDER BY r.version DESC",
            (app,),
        )
        return [_release(r, self.cipher) for r in rows.fetchall()]

    # Formation
    def get_formation(self, app: str) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT type, quantity FROM formation WHERE app = ? ORDER BY rowid", (app,)
        )
        return {r["type"]: int(r["quantity"]) for r in rows.fetchall()}

    def set_formation(self, app: str, formation: dict[str, int]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM formation WHERE app = ?", (app,))
            db.executemany(
                "INSERT INTO formation (app, type, quantity) VALUES (?, ?, ?)",
                [(app, t, q) for t, q in formation.items()],
            )

    # Process records
    def record_process(self, record: ProcessRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO processes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.app,
                record.name,
                record.pid,
                record.pgid,
                record.start_ticks,
                record.port,
                record.release,
                record.scratch_dir,
            ),
        )

    def forget_process(self, app: str, name: str, pid: int) -> None:
        self._db.execute(
            "DELETE FROM processes WHERE app = ? AND name = ? AND pid = ?", (app, name, pid)
        )

    def list_process_records(self) -> list[ProcessRecord]:
        rows = self._db.execute("SELECT * FROM processes").fetchall()
        return [
            ProcessRecord(
                r["app"],
                r["name"],
                r["pid"],
                r["pgid"],
                r["start_ticks"],
                r["port"],
                r["release"],
                r["scratch_dir"],
            )
            for r in rows
        ]

    # Domains and drains
    def add_domain(self, app: str, hostname: str) -> None:
        try:
            self._db.execute("INSERT INTO domains VALUES (?, ?)", (hostname, app))
        except sqlite3.IntegrityError:
            raise Conflict(f"domain {hostname} is already in use") from None

    def remove_domain(self, app: str, hostname: str) -> None:
        cur = self._db.execute(
            "DELETE FROM domains WHERE app = ? AND hostname = ?", (app, hostname)
        )
        if cur.rowcount == 0:
            raise NotFound(f"{app} has no domain {hostname}", "see 'twelve domains'")

    def list_domains(self, app: str | None = None) -> list[tuple[str, str]]:
        """(hostname, app) pairs, for one app or all."""
        if app is None:
            rows = self._db.execute("SELECT hostname, app FROM domains ORDER BY hostname")
        else:
            rows = self._db.execute(
                "SELECT hostname, app FROM domains WHERE app = ? ORDER BY hostname", (app,)
            )
        return [(r["hostname"], r["app"]) for r in rows.fetchall()]

    # Drain URLs may hold a token, so they are encrypted like config: matched after decrypting.
    def add_drain(self, app: str, url: str) -> None:
        if url in self.list_drains(app):
            raise Conflict(f"{app} already drains to that URL")
        self._db.execute(
            "INSERT INTO drains VALUES (?, ?, ?)", (app, self.cipher.encrypt(url), time.time())
        )

    def remove_drain(self, app: str, url: str) -> None:
        rows = self._db.execute("SELECT rowid, url FROM drains WHERE app = ?", (app,)).fetchall()
        found = [r["rowid"] for r in rows if self.cipher.decrypt(r["url"]) == url]
        if not found:
            raise NotFound(f"{app} has no such drain", "see 'twelve drains'")
        self._db.execute("DELETE FROM drains WHERE rowid = ?", (found[0],))

    def list_drains(self, app: str) -> list[str]:
        rows = self._db.execute("SELECT url FROM drains WHERE app = ? ORDER BY created_at", (app,))
        return [self.cipher.decrypt(r["url"]) for r in rows.fetchall()]


def _build(row: sqlite3.Row) -> Build:
    return Build(
        id=row["id"],
        app=row["app"],
        status=row["status"],
        source=row["source"],
        commit=row["commit_sha"],
        builder=row["builder"],
        slug_dir=row["slug_dir"],
        procfile=json.loads(row["procfile"]),
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        runtime=json.loads(row["runtime"]),
    )


def _release(row: sqlite3.Row, cipher: Cipher) -> Release:
    return Release(
        app=row["app"],
        version=row["version"],
        build_id=row["build_id"],
        config=json.loads(cipher.decrypt(row["config"])),
        procfile=json.loads(row["procfile"]),
        description=row["description"],
        created_at=row["created_at"],
        commit=row["commit_sha"],
        slug_dir=row["slug_dir"],
    )
