"""PostgreSQL backups on this machine's server: captured, verified, damaged, restored, moved."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import subprocess
from pathlib import Path

import psycopg
import pytest

from twelve.backups.manager import BackupManager
from twelve.backups.restoring import restore
from twelve.compose import Graph
from twelve.errors import Conflict, UsageError
from twelve.store.addons import Addon

from .conftest import app_with_addon


def make_app_with_database(graph: Graph, loop: asyncio.AbstractEventLoop) -> tuple[str, Addon]:
    return app_with_addon(graph, loop, "postgres", "bk")


def seed(url: str, rows: int = 2000) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text, at timestamptz)")
        conn.execute("CREATE TABLE tags (note int REFERENCES notes, tag text)")
        conn.execute(
            "INSERT INTO notes (body, at) SELECT 'note ' || g || repeat('x', g %% 50),"
            " '2026-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, %s) g",
            (rows,),
        )
        conn.execute("INSERT INTO tags SELECT id, 'tag' || (id % 7) FROM notes")


def data_only(addon: Addon) -> bytes:
    """``pg_dump --data-only`` of the add-on's database, as the proof compares it."""
    database = addon.resource["database"]
    return subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "--restrict-key=proof",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            database,
        ],
        capture_output=True,
        check=True,
    ).stdout


def backups(graph: Graph) -> BackupManager:
    assert graph.platform.backups is not None
    return graph.platform.backups


def test_a_backup_is_verified_and_restores_a_dropped_table_byte_for_byte(
    graph: Graph, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    app, addon = make_app_with_database(graph, loop)
    seed(addon.url)
    before = data_only(addon)
    lines: list[str] = []
    made = loop.run_until_complete(backups(graph).capture(app, None, lines.append))
    assert made.id == "b001" and made.status == "verified", made.reason
    assert made.details["tables"]["public.notes"][0] == 2000
    assert made.server_version.startswith("PostgreSQL ")
    assert made.size > 0 and len(made.checksum) == 64
    assert any("verified" in line for line in lines)
    stored = graph.settings.home / "backups" / app / "b001.dump.sealed"
    assert b"note 17" not in stored.read_bytes(), "the stored file is encrypted"

    with psycopg.connect(addon.url, autocommit=True) as conn:
        conn.execute("DROP TABLE tags")
        conn.execute("DELETE FROM notes WHERE id > 10")
    assert data_only(addon) != before
    loop.run_until_complete(restore(backups(graph), app, "b001", None, app, lines.append))
    assert data_only(addon) == before


def test_restoring_needs_the_apps_name_and_a_verified_backup(
    graph: Graph, loop: asyncio.AbstractEventLoop
) -> None:
    app, addon = make_app_with_database(graph, loop)
    seed(addon.url, 10)
    loop.run_until_complete(backups(graph).capture(app, None))
    with pytest.raises(UsageError, match=f"--confirm {app}"):
        loop.run_until_complete(restore(backups(graph), app, "b001", None, None, print))
    with pytest.raises(UsageError, match="not a backup id"):
        loop.run_until_complete(restore(backups(graph), app, "latest", None, app, print))


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


def test_a_damaged_backup_file_is_caught_by_verification_and_never_restored(
    graph: Graph, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    app, addon = make_app_with_database(graph, loop)
    seed(addon.url, 500)
    loop.run_until_complete(backups(graph).capture(app, None))
    flip_a_byte(graph.settings.home / "backups" / app / "b001.dump.sealed")
    with caplog.at_level(logging.ERROR, logger="backups"):
        checked = loop.run_until_complete(backups(graph).verify(app, "b001"))
    assert checked.status == "failed"
    assert "damaged" in checked.reason
    assert any("b001" in r.getMessage() and r.name == "backups" for r in caplog.records)
    with pytest.raises(Conflict, match="failed"):
        loop.run_until_complete(restore(backups(graph), app, "b001", None, app, print))


def test_a_backup_restores_into_another_apps_database(
    graph: Graph, loop: asyncio.AbstractEventLoop
) -> None:
    app, addon = make_app_with_database(graph, loop)
    seed(addon.url, 300)
    loop.run_until_complete(backups(graph).capture(app, None))
    other, target = make_app_with_database(graph, loop)
    loop.run_until_complete(restore(backups(graph), other, f"{app}::b001", None, other, print))
    # The same rows, owned by each database's own role.
    mine, theirs = addon.resource["role"].encode(), target.resource["role"].encode()
    assert data_only(target).replace(theirs, b"OWNER") == data_only(addon).replace(mine, b"OWNER")
    with psycopg.connect(target.url) as conn:
        row = conn.execute("SELECT count(*) FROM notes").fetchone()
    assert row == (300,), "the other app reads the rows with its own credentials"


def test_download_gives_a_dump_pg_restore_reads(
    graph: Graph, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    app, addon = make_app_with_database(graph, loop)
    seed(addon.url, 100)
    made = loop.run_until_complete(backups(graph).capture(app, None))

    async def fetch() -> bytes:
        _record, chunks = backups(graph).download(app, "b001")
        return b"".join([c async for c in chunks])

    dump = loop.run_until_complete(fetch())
    assert hashlib.sha256(dump).hexdigest() == made.checksum
    (tmp_path / "b001.dump").write_bytes(dump)
    listing = subprocess.run(
        ["pg_restore", "--list", str(tmp_path / "b001.dump")],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "TABLE DATA public notes" in listing.stdout
