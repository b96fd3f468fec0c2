"""The PostgreSQL and Redis servers twelve runs itself: set up once, data kept across restarts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg
import redis

from support import requires_service
from twelve.addons.binaries import find_postgres, find_redis
from twelve.addons.naming import new_addon_name
from twelve.addons.postgres import PostgresProvider, ping
from twelve.addons.redis import RedisProvider
from twelve.addons.services import SelfRunServer, ServiceRunner
from twelve.errors import ServiceError
from twelve.store import Store

PATH = os.environ.get("PATH", "/usr/bin:/bin")


def _runner(tmp_path: Path, store: Store, lines: list[tuple[str, str]]) -> ServiceRunner:
    return ServiceRunner(
        tmp_path / "services", store.processes, lambda s, t: lines.append((s, t)), PATH
    )


async def _wait_for_new_pid(store: Store, old: int) -> None:
    deadline = time.monotonic() + 30
    while not [r for r in store.processes.all() if r.pid != old]:
        assert time.monotonic() < deadline, "the server was not started again"
        await asyncio.sleep(0.05)


async def _wait_until(check: Callable[[], Awaitable[None]]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            await check()
            return
        except ServiceError:
            assert time.monotonic() < deadline, "the server did not answer again"
            await asyncio.sleep(0.1)


def test_postgres_twelve_runs_keeps_databases_across_a_restart(tmp_path: Path) -> None:
    """First use sets it up; it comes back after a crash and after a daemon restart, data intact."""
    requires_service("PostgreSQL binaries (initdb)", find_postgres(PATH) is not None)
    store = Store(tmp_path / "twelve.db")
    lines: list[tuple[str, str]] = []

    async def first_life() -> tuple[str, list[str]]:
        runner = _runner(tmp_path, store, lines)
        try:
            admin = await runner.admin_url("postgres")
            recorded = [r.name for r in store.processes.all()]
            made = await PostgresProvider(admin, "").provision(
                new_addon_name("postgres", "keep"), []
            )
            async with await psycopg.AsyncConnection.connect(made.url) as conn:
                await conn.execute("CREATE TABLE notes (body text)")
                await conn.execute("INSERT INTO notes VALUES ('survives')")
            # Killed outright, the server is started again, as an app process would be.
            crashed = store.processes.all()[0]
            os.killpg(crashed.pgid, signal.SIGKILL)
            await _wait_for_new_pid(store, crashed.pid)
            await _wait_until(lambda: ping(admin))
            return made.url, recorded
        finally:
            await runner.stop(10)

    url, recorded = asyncio.run(first_life())
    assert recorded == ["service.postgres"]
    assert store.processes.all() == []
    assert (tmp_path / "services" / "postgres" / "service.json").stat().st_mode & 0o777 == 0o600

    async def second_life() -> list[tuple[str]]:
        runner = _runner(tmp_path, store, lines)
        await runner.start()
        try:
            # As Heroku Postgres, it takes TLS: Heroku's Django template requires it.
            async with await psycopg.AsyncConnection.connect(url, sslmode="require") as conn:
                cur = await conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                assert await cur.fetchone() == (True,)
                cur = await conn.execute("SELECT body FROM notes")
                return await cur.fetchall()
        finally:
            await runner.stop(10)

    assert asyncio.run(second_life()) == [("survives",)]
    assert any(service == "postgres" for service, _ in lines)
    password = url.split(":")[2].split("@")[0]
    assert not any(password in text for _, text in lines)
    store.close()


def test_redis_twelve_runs_keeps_keys_and_users_across_a_restart(tmp_path: Path) -> None:
    requires_service("redis-server", find_redis(PATH) is not None)
    store = Store(tmp_path / "twelve.db")
    lines: list[tuple[str, str]] = []

    async def first_life() -> str:
        runner = _runner(tmp_path, store, lines)
        try:
            admin = await runner.admin_url("redis")
            made = await RedisProvider(admin, "").provision(new_addon_name("redis", "keep"), [])
            with redis.Redis.from_url(made.url) as client:
                client.set("session:alice", "logged-in")
            return made.url
        finally:
            await runner.stop(10)

    url = asyncio.run(first_life())

    async def second_life() -> bytes | None:
        runner = _runner(tmp_path, store, lines)
        await runner.start()
        try:
            with redis.Redis.from_url(url) as client:
                return client.get("session:alice")  # type: ignore[return-value]
        finally:
            await runner.stop(10)

    assert asyncio.run(second_life()) == b"logged-in"
    store.close()


def test_a_server_stopped_while_it_is_being_started_does_not_outlive_the_stop(
    tmp_path: Path,
) -> None:
    """stop() may come while the server's process is being spawned, before there is a process to
    signal: that process must still be stopped, and its record go with it."""
    bins = find_redis(PATH)
    requires_service("Redis binaries (redis-server)", bins is not None)
    assert bins is not None
    store = Store(tmp_path / "twelve.db")
    lines: list[tuple[str, str]] = []

    async def scenario() -> list[int]:
        runner = _runner(tmp_path, store, lines)
        await runner.admin_url("redis")  # set up once
        await runner.stop(5)
        spawned = []
        # Stop after more and more turns of the loop, so that one stop lands mid-spawn.
        for turns in range(12):
            server = SelfRunServer(
                "redis", tmp_path / "services" / "redis", bins, store.processes, lambda s, t: None
            )
            starting = asyncio.ensure_future(server.start())
            for _ in range(turns):
                await asyncio.sleep(0)
            await server.stop(2)
            with contextlib.suppress(ServiceError, asyncio.CancelledError):
                starting.cancel()
                await starting
            if server.child is not None:
                spawned.append(turns)
                assert server.child.process.returncode is not None, f"left running ({turns})"
            assert store.processes.all() == []
        return spawned

    spawned = asyncio.run(scenario())
    assert spawned, "no stop came after a server process was spawned"
