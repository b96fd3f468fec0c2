"""PostgreSQL backups: pg_dump in custom format at an exported snapshot, pg_restore, and the
per-table row counts and content checksums a verification compares.

The client tools are those of the server's own major version (Debian's
/usr/lib/postgresql/N/bin, else PATH's when its version matches), as pg_dump requires.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

from twelve.addons.provider import first_line
from twelve.backups import pipes
from twelve.errors import ServiceError

DEBIAN_BIN = "/usr/lib/postgresql/{major}/bin"
Sums = dict[str, list[int]]  # "schema.table" → [rows, checksum]

# Every user table, with a checksum of its rows' text that does not depend on their order.
_TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
ORDER BY 1, 2
"""
_SUM = (
    "SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 15))::bit(60)::bigint), 0)"
    " FROM {} AS t"
)


def libpq_env(url: str, database: str | None = None) -> dict[str, str]:
    """A URL as libpq's variables, so no password is ever on a command line."""
    parts = urlsplit(url)
    env = {
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": unquote(parts.username or ""),
        "PGDATABASE": database or unquote(parts.path.lstrip("/")) or "postgres",
        "PGCONNECT_TIMEOUT": "10",
    }
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
    return env


def client_bin(major: int, path: str) -> Path:
    """The directory of pg_dump and pg_restore of ``major``; a ServiceError naming the package.

    Debian's versioned directory first; else PATH's pg_dump, unless it sits in another version's
    directory (pg_dump itself refuses a server newer than it, with a message that says so).
    """
    debian = Path(DEBIAN_BIN.format(major=major))
    if os.access(debian / "pg_dump", os.X_OK):
        return debian
    on_path = shutil.which("pg_dump", path=path)
    if on_path:
        real = Path(os.path.realpath(on_path))
        other = re.search(r"/postgresql/(\d+)/bin$", str(real.parent))
        if other is None or int(other[1]) == major:
            return real.parent
    raise ServiceError(
        f"no pg_dump of PostgreSQL {major} on this machine, as the server's version needs",
        f"install postgresql-client-{major}",
    )


async def connect(url: str, **kwargs: Any) -> psycopg.AsyncConnection[Any]:
    try:
        return await psycopg.AsyncConnection.connect(url, connect_timeout=10, **kwargs)
    except psycopg.Error as exc:
        raise ServiceError(f"cannot connect to the database: {first_line(exc)}") from None


async def server_version(conn: psycopg.AsyncConnection[Any]) -> tuple[int, str]:
    cur = await conn.execute("SELECT current_setting('server_version_num')::int, version()")
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]) // 10000, str(row[1]).split(" on ")[0]


async def table_sums(conn: psycopg.AsyncConnection[Any]) -> Sums:
    """Row count and content checksum of every user table, as seen by ``conn``'s snapshot."""
    sums: Sums = {}
    tables = await (await conn.execute(_TABLES)).fetchall()
    for schema, table in tables:
        query = sql.SQL(_SUM).format(sql.Identifier(schema, table))
        row = await (await conn.execute(query)).fetchone()
        assert row is not None
        sums[f"{schema}.{table}"] = [int(row[0]), int(row[1])]
    return sums


async def capture(
    url: str, path: str, sink: Callable[[bytes], None], dumped: Callable[[], None] = lambda: None
) -> tuple[Sums, str]:
    """pg_dump of ``url``'s database to ``sink``, then the sums of the same snapshot (read
    after the dump, so they do not slow it; ``dumped`` marks the moment between)."""
    conn = await connect(url, autocommit=True)
    program: pipes.Program | None = None
    try:
        major, version = await server_version(conn)
        bin_dir = client_bin(major, path)
        await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
        await conn.set_read_only(True)
        async with conn.transaction():
            row = await (await conn.execute("SELECT pg_export_snapshot()")).fetchone()
            assert row is not None
            program = await pipes.start(
                [str(bin_dir / "pg_dump"), "--format=custom", f"--snapshot={row[0]}"],
                libpq_env(url),
                "pg_dump",
                stdout=True,
            )
            await pipes.read_out(program, sink)
            await program.finish()
            dumped()
            sums = await table_sums(conn)
        return sums, version
    except psycopg.Error as exc:
        raise ServiceError(f"cannot read the database: {first_line(exc)}") from None
    finally:
        if program is not None:
            program.kill()
        await conn.close()


async def restore(
    url: str, path: str, chunks: AsyncIterator[bytes], clean: bool, database: str | None = None
) -> None:
    """pg_restore ``chunks`` into ``url``'s database in one transaction: all of it or nothing."""
    conn = await connect(url, autocommit=True)
    try:
        major, _ = await server_version(conn)
    finally:
        await conn.close()
    argv = [
        str(client_bin(major, path) / "pg_restore"),
        "--no-owner",
        "--no-acl",
        "--exit-on-error",
        "--single-transaction",
    ]
    if clean:
        argv += ["--clean", "--if-exists"]
    env = libpq_env(url, database)
    argv.append(f"--dbname={env['PGDATABASE']}")  # a name only: the password is in PGPASSWORD
    program = await pipes.start(argv, env, "pg_restore", stdin=True)
    try:
        await pipes.write_in(program, chunks)
        await program.finish()
    finally:
        program.kill()


async def end_sessions(admin_url: str, database: str) -> None:
    """End every other session on ``database`` (a restore replaces what they read)."""
    conn = await connect(admin_url, autocommit=True)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )
    finally:
        await conn.close()


async def verify(
    admin_url: str, path: str, chunks: AsyncIterator[bytes], expected: Sums
) -> list[str]:
    """Restore into a scratch database and compare its sums with ``expected``: the differences."""
    scratch = f"twelve_verify_{secrets.token_hex(6)}"
    admin = await connect(admin_url, autocommit=True)
    try:
        await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        try:
            await restore(admin_url, path, chunks, clean=False, database=scratch)
            url = urlsplit(admin_url)._replace(path=f"/{scratch}").geturl()
            conn = await connect(url)
            try:
                found = await table_sums(conn)
            finally:
                await conn.close()
        finally:
            await admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch))
            )
    finally:
        await admin.close()
    return compare(expected, found)


def compare(expected: Sums, found: Sums) -> list[str]:
    """What differs between the source's tables and the restored copy's, one phrase each."""
    problems = []
    for table in sorted(expected.keys() | found.keys()):
        want, got = expected.get(table), found.get(table)
        if got is None:
            problems.append(f"table {table} is missing from the restored copy")
        elif want is None:
            problems.append(f"table {table} appears in the restored copy only")
        elif want[0] != got[0]:
            problems.append(f"table {table} has {got[0]} rows restored, {want[0]} in the source")
        elif want[1] != got[1]:
            problems.append(f"table {table} has different content restored")
    return problems
