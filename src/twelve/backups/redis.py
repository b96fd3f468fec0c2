"""Redis backups: an RDB snapshot taken as a replica takes one (``redis-cli --rdb``), loaded into a
scratch redis-server to verify it, and copied key by key (DUMP and RESTORE) to restore it.

On a shared server the snapshot holds every tenant's keys: it is loaded into a scratch server,
everything but the add-on's own database is dropped there, and that server's RDB is what is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.exceptions import BusyLoadingError, RedisError

from twelve.addons.selfrun import free_port
from twelve.backups import pipes
from twelve.errors import ServiceError
from twelve.supervisor import spawn

SAMPLE = 50
DATABASES = 256
READY_TIMEOUT = 120.0


def _client(url: str, db: int | None = None) -> aioredis.Redis:
    kwargs: dict[str, Any] = {"socket_connect_timeout": 10, "socket_timeout": 120}
    if db is not None:
        kwargs["db"] = db
    return aioredis.Redis.from_url(url, single_connection_client=True, **kwargs)


async def _cmd(conn: aioredis.Redis, *args: Any) -> Any:
    return await conn.execute_command(*args)  # type: ignore[no-untyped-call]


async def _content(conn: aioredis.Redis, key: bytes) -> bytes | None:
    """A key's type and value in a form that does not depend on the server's version or
    encoding (a DUMP payload does): what a sampled key is compared by."""
    kind = await conn.type(key)
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    value: Any
    if kind == "none":
        return None
    if kind == "string":
        value = await conn.get(key)
    elif kind == "hash":
        value = sorted((await conn.hgetall(key)).items())
    elif kind == "list":
        value = await conn.lrange(key, 0, -1)
    elif kind == "set":
        value = sorted(await conn.smembers(key))
    elif kind == "zset":
        value = await conn.zrange(key, 0, -1, withscores=True)
    elif kind == "stream":
        value = await conn.xrange(key)
    else:  # a module's type: only its own serialization says what it holds
        value = await conn.dump(key)
    return repr((kind, value)).encode()


async def _sample(conn: aioredis.Redis, keys: list[bytes] | None = None) -> dict[str, str]:
    """sha256 of the content of ``keys`` (else of up to SAMPLE random keys); never the values."""
    if keys is None:
        found: set[bytes] = set()
        for _ in range(SAMPLE * 2):
            key = await conn.randomkey()
            if key is None:
                break
            found.add(key if isinstance(key, bytes) else key.encode())
            if len(found) >= SAMPLE:
                break
        keys = sorted(found)
    sums = {}
    for key in keys:
        content = await _content(conn, key)
        sums[key.hex()] = hashlib.sha256(content).hexdigest() if content is not None else ""
    return sums


class Scratch:
    """A throwaway redis-server on loopback loading ``rdb``: verification and restore read it."""

    def __init__(self, redis_bin: str, directory: Path) -> None:
        self.redis_bin = redis_bin
        self.dir = directory
        self.port = 0
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.port = free_port()
        argv = [
            self.redis_bin,
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
            "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no",
            "--databases", str(DATABASES), "--protected-mode", "yes",
        ]  # fmt: skip
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        child = await spawn.start(argv, cwd=self.dir, env=env, stdout=asyncio.subprocess.DEVNULL)
        self.process = child.process
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise ServiceError("the snapshot does not load into Redis: it is damaged")
            try:
                async with self.client() as conn:
                    await conn.ping()
                    return
            except BusyLoadingError:
                pass
            except (RedisError, OSError):
                pass
            await asyncio.sleep(0.05)
        raise ServiceError("a scratch Redis did not load the snapshot in time")

    @contextlib.asynccontextmanager
    async def client(self, db: int = 0) -> AsyncIterator[aioredis.Redis]:
        conn = _client(f"redis://127.0.0.1:{self.port}", db)
        try:
            yield conn
        finally:
            await conn.aclose()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            await self.process.wait()


@contextlib.asynccontextmanager
async def scratch_with(redis_bin: str, work: Path, rdb: Path) -> AsyncIterator[Scratch]:
    """A scratch server in a private directory of ``work`` that loaded ``rdb`` (moved there)."""
    directory = Path(tempfile.mkdtemp(prefix="redis-", dir=work))
    try:
        os.replace(rdb, directory / "dump.rdb")
        server = Scratch(redis_bin, directory)
        try:
            await server.start()
            yield server
        finally:
            await server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _cli_env(url: str) -> tuple[list[str], dict[str, str]]:
    parts = urlsplit(url)
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379)]
    if parts.username:
        args += ["--user", unquote(parts.username)]
    env = {"REDISCLI_AUTH": unquote(parts.password)} if parts.password else {}
    return args, env


async def capture(
    url: str,
    sync_url: str,
    database: int | None,
    redis_bin: str,
    work: Path,
    sink: Callable[[bytes], None],
) -> tuple[dict[str, Any], str]:
    """Snapshot the add-on's keys to ``sink``; what verification checks and the server version."""
    source = _client(url)
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    rdb = Path(tempfile.mkstemp(prefix="snapshot-", suffix=".rdb", dir=work)[1])
    try:
        info = await source.info("server")
        version = f"Redis {info.get('redis_version', '?')}"
        before_count = await source.dbsize()
        before = await _sample(source)
        args, env = _cli_env(sync_url)
        cli = str(Path(redis_bin).with_name("redis-cli"))
        program = await pipes.start([cli, *args, "--rdb", str(rdb)], env, "redis-cli --rdb")
        try:
            await program.finish()
        finally:
            program.kill()
        after_count = await source.dbsize()
        after = await _sample(source, [bytes.fromhex(k) for k in before])
        if database is not None:
            rdb = await _only_database(redis_bin, work, rdb, database)
        with rdb.open("rb") as handle:
            while chunk := handle.read(pipes.READ):
                sink(chunk)
    except (RedisError, OSError) as exc:
        raise ServiceError(f"cannot snapshot Redis: {exc}") from None
    finally:
        rdb.unlink(missing_ok=True)
        await source.aclose()
    stable = {k: v for k, v in before.items() if after.get(k) == v}
    details = {
        "database": database or 0,
        "keys": [min(before_count, after_count), max(before_count, after_count)],
        "sample": stable,
    }
    return details, version


async def _only_database(redis_bin: str, work: Path, rdb: Path, database: int) -> Path:
    """The snapshot with every other tenant's database dropped."""
    kept = Path(tempfile.mkstemp(prefix="snapshot-", suffix=".rdb", dir=work)[1])
    async with scratch_with(redis_bin, work, rdb) as server:
        async with server.client() as conn:
            keyspace = await conn.info("keyspace")
            for name in keyspace:
                number = int(str(name).removeprefix("db"))
                if number != database:
                    await _cmd(conn, "SELECT", number)
                    await conn.flushdb()
            await conn.save()
        os.replace(server.dir / "dump.rdb", kept)
    return kept


async def _spool(chunks: AsyncIterator[bytes], work: Path) -> Path:
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="restore-", suffix=".rdb", dir=work)
    with os.fdopen(fd, "wb") as handle:
        async for chunk in chunks:
            handle.write(chunk)
    return Path(name)


async def verify(
    chunks: AsyncIterator[bytes], redis_bin: str, work: Path, details: dict[str, Any]
) -> list[str]:
    """Load the snapshot into a scratch server; compare its key count and the sampled values."""
    rdb = await _spool(chunks, work)
    problems = []
    try:
        db = int(details["database"])
        async with scratch_with(redis_bin, work, rdb) as server, server.client(db) as conn:
            count = await conn.dbsize()
            low, high = details["keys"]
            if not low <= count <= high:
                expected = str(low) if low == high else f"{low} to {high}"
                problems.append(f"{count} keys restored, {expected} in the source")
            keys = [bytes.fromhex(k) for k in details["sample"]]
            found = await _sample(conn, keys)
            differ = [k for k, v in details["sample"].items() if found.get(k) != v]
            if differ:
                problems.append(f"{len(differ)} of {len(keys)} sampled keys differ")
    finally:
        rdb.unlink(missing_ok=True)
    return problems


async def restore(
    chunks: AsyncIterator[bytes], redis_bin: str, work: Path, database: int, target_url: str
) -> int:
    """Replace the target's keys with the snapshot's (DUMP and RESTORE); how many were copied."""
    rdb = await _spool(chunks, work)
    copied = 0
    try:
        async with scratch_with(redis_bin, work, rdb) as server, server.client(database) as src:
            target = _client(target_url)
            try:
                await target.flushdb()
                cursor = 0
                while True:
                    cursor, keys = await src.scan(cursor, count=500)
                    if keys:
                        copied += await _copy(src, target, [_raw(k) for k in keys])
                    if cursor == 0:
                        break
            finally:
                await target.aclose()
    except RedisError as exc:
        raise ServiceError(f"cannot restore into Redis: {exc}") from None
    finally:
        rdb.unlink(missing_ok=True)
    return copied


def _raw(key: bytes | str) -> bytes:
    return key if isinstance(key, bytes) else key.encode()


async def _copy(src: aioredis.Redis, target: aioredis.Redis, keys: list[bytes]) -> int:
    async with src.pipeline(transaction=False) as read:
        for key in keys:
            read.dump(key)
            read.pttl(key)
        replies = await read.execute()
    async with target.pipeline(transaction=False) as write:
        count = 0
        for key, payload, ttl in zip(keys, replies[::2], replies[1::2], strict=True):
            if payload is None or ttl == -2:
                continue  # expired since the scan
            write.restore(key, max(int(ttl), 0), payload, replace=True)
            count += 1
        await write.execute()
    return count
