"""Redis add-ons twelve runs: a redis-server of their own each, with Heroku's URL."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from support import requires_service
from twelve.addons.binaries import find_redis
from twelve.addons.dedicated import DedicatedRedisProvider
from twelve.addons.services import ServiceRunner
from twelve.store import Store

PATH = os.environ.get("PATH", "/usr/bin:/bin")


def _runner(tmp_path: Path, store: Store) -> ServiceRunner:
    return ServiceRunner(tmp_path / "services", store.processes, lambda s, t: None, PATH)


def pre_redis_6_auth(url: str) -> bytes:
    """What a client written before Redis 6 does: ``AUTH password`` with no user name, then GET."""
    parts = urlsplit(url)
    password = (parts.password or "").encode()
    with socket.create_connection((parts.hostname or "", parts.port or 6379), timeout=5) as sock:
        sock.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(password), password))
        sock.sendall(b"*2\r\n$3\r\nGET\r\n$4\r\njobs\r\n")
        reply = b""
        while reply.count(b"\r\n") < 3:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply


def test_each_redis_addon_gets_its_own_server_a_heroku_url_and_keeps_its_data(
    tmp_path: Path,
) -> None:
    requires_service("redis-server", find_redis(PATH) is not None)
    store = Store(tmp_path / "twelve.db")

    async def first_life() -> tuple[str, str, dict[str, object], dict[str, object]]:
        runner = _runner(tmp_path, store)
        provider = DedicatedRedisProvider(runner.dedicated, 16 << 20)
        try:
            one = await provider.provision("redis-rt-one", [])
            two = await provider.provision("redis-rt-two", [])
            return one.url, two.url, one.resource, two.resource
        finally:
            await runner.stop(10)

    url_one, url_two, resource_one, resource_two = asyncio.run(first_life())
    for url in (url_one, url_two):
        parts = urlsplit(url)
        assert url.startswith("redis://:") and parts.username == "" and parts.password
    assert urlsplit(url_one).port != urlsplit(url_two).port, "a server each"

    async def second_life() -> None:
        runner = _runner(tmp_path, store)
        await runner.start()  # the add-ons' servers come back with the daemon
        try:
            with redis.Redis.from_url(url_one) as client:
                client.set("jobs", "queued")
                assert client.info("memory")["maxmemory"] == 16 << 20
                with pytest.raises(redis.ResponseError, match="no permissions"):
                    client.config_get("maxmemory")
            with redis.Redis.from_url(url_two) as client:
                assert client.get("jobs") is None, "one add-on never sees another's keys"
            assert pre_redis_6_auth(url_one).startswith(b"+OK\r\n$6\r\nqueued")
            with redis.Redis.from_url(url_one) as client, pytest.raises(redis.ResponseError):
                client.execute_command("DEBUG", "SLEEP", "0")
            with redis.Redis.from_url(url_one) as client:
                assert client.info("persistence")["aof_enabled"] == 1
            provider = DedicatedRedisProvider(runner.dedicated, 16 << 20)
            await provider.deprovision(resource_two)
        finally:
            await runner.stop(10)

    asyncio.run(second_life())
    assert not (tmp_path / "services" / "redis-addons" / str(resource_two["dedicated"])).exists()
    assert (tmp_path / "services" / "redis-addons" / str(resource_one["dedicated"])).is_dir()
    assert not store.processes.all(), "every server stopped with the runner"
    store.close()
