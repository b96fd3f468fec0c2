"""Redis backups on this machine's shared server: only the add-on's own keys, verified, restored."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis
import redis.asyncio as redis_async

from twelve.backups import redis as backup_redis
from twelve.backups.manager import BackupManager
from twelve.backups.restoring import restore
from twelve.compose import Graph
from twelve.store.addons import Addon

from .conftest import REDIS_ADMIN, app_with_addon


def make_app_with_redis(graph: Graph, loop: asyncio.AbstractEventLoop) -> tuple[str, Addon]:
    return app_with_addon(graph, loop, "redis", "bkr")


def backups(graph: Graph) -> BackupManager:
    assert graph.platform.backups is not None
    return graph.platform.backups


def everything(url: str) -> dict[bytes, tuple[bytes | None, int]]:
    """Every key's DUMP and whether it has a TTL: what a restore must give back."""
    with redis.Redis.from_url(url) as r:
        return {k: (r.dump(k), r.ttl(k) > 0) for k in r.scan_iter(count=500)}


def test_a_redis_backup_holds_only_its_keys_and_restores_them(
    graph: Graph, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    app, addon = make_app_with_redis(graph, loop)
    with redis.Redis.from_url(addon.url) as r:
        r.mset({f"user:{n}": f"name {n}" for n in range(500)})
        r.hset("settings", mapping={"theme": "dark", "lang": "en"})
        r.rpush("queue", *range(100))
        r.set("session:1", "token", ex=3600)
        r.sadd("tags", "a", "b")
        r.zadd("scores", {"x": 1.5, "y": 2})
        r.xadd("events", {"kind": "signup"})
    # Another tenant of the same server: never in this add-on's backup.
    with redis.Redis.from_url(REDIS_ADMIN) as admin:
        admin.set(f"{app}-elsewhere", "not yours")
    before = everything(addon.url)
    try:
        made = loop.run_until_complete(backups(graph).capture(app, None))
        assert made.status == "verified", made.reason
        assert made.details["keys"] == [506, 506]
        assert len(made.details["sample"]) == 50

        async def fetch() -> bytes:
            _record, chunks = backups(graph).download(app, made.id)
            return b"".join([c async for c in chunks])

        rdb = loop.run_until_complete(fetch())
        assert rdb.startswith(b"REDIS")
        assert f"{app}-elsewhere".encode() not in rdb, "another tenant's keys stay out"

        with redis.Redis.from_url(addon.url) as r:
            r.flushdb()
            r.set("junk", "written after the backup")
        loop.run_until_complete(restore(backups(graph), app, made.id, None, app, print))
        assert everything(addon.url) == before
    finally:
        with redis.Redis.from_url(REDIS_ADMIN) as admin:
            admin.delete(f"{app}-elsewhere")


def test_sampled_keys_are_compared_by_type_and_value_whatever_their_encoding(
    graph: Graph, loop: asyncio.AbstractEventLoop
) -> None:
    """Verification compares values, not DUMP payloads, which change with the server's version."""
    _app, addon = make_app_with_redis(graph, loop)
    with redis.Redis.from_url(addon.url) as r:
        r.set("s", "v")
        r.hset("h", mapping={"b": "2", "a": "1"})
        r.rpush("l", "1", "2")
        r.sadd("set", "y", "x")
        r.zadd("z", {"m": 1})
        r.xadd("x", {"f": "v"})
    keys = [b"s", b"h", b"l", b"set", b"z", b"x", b"missing"]

    async def sample() -> dict[str, str]:
        conn = redis_async.Redis.from_url(addon.url)
        try:
            return await backup_redis._sample(conn, keys)
        finally:
            await conn.aclose()

    first = loop.run_until_complete(sample())
    assert len({v for k, v in first.items() if k != b"missing".hex()}) == 6
    assert first[b"missing".hex()] == ""
    with redis.Redis.from_url(addon.url) as r:
        r.hset("h", "c", "3")
        r.zadd("z", {"m": 2})
    second = loop.run_until_complete(sample())
    changed = {bytes.fromhex(k) for k in first if first[k] != second[k]}
    assert changed == {b"h", b"z"}
