"""Redis add-ons on a real server: a user confined to a logical database of its own."""

from __future__ import annotations

import asyncio

import pytest
import redis

from twelve.addons.naming import new_addon_name, resource_identifier
from twelve.addons.redis import RedisProvider
from twelve.errors import Conflict, ServiceError


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def _in_db(url: str, number: int) -> str:
    return f"{url.rsplit('/', 1)[0]}/{number}"


def test_each_addon_gets_a_user_and_a_database_of_its_own(redis_admin: str) -> None:
    provider = RedisProvider(redis_admin, "TWELVE_REDIS_ADMIN_URL")
    first = _run(provider.provision(new_addon_name("redis", "one"), []))
    second = _run(provider.provision(new_addon_name("redis", "two"), [first.resource]))
    try:
        assert first.resource["database"] != second.resource["database"]
        with redis.Redis.from_url(first.url) as a, redis.Redis.from_url(second.url) as b:
            a.set("session", "alice")
            assert a.get("session") == b"alice"
            assert b.get("session") is None
            with pytest.raises(redis.exceptions.NoPermissionError):
                a.flushall()
            with pytest.raises(redis.exceptions.NoPermissionError):
                a.config_get("requirepass")
            with pytest.raises(redis.exceptions.NoPermissionError):
                a.execute_command("SELECT", second.resource["database"])
    finally:
        _run(provider.deprovision(first.resource))
        _run(provider.deprovision(second.resource))
    with redis.Redis.from_url(redis_admin) as admin:
        assert admin.acl_getuser(first.resource["user"]) is None
    with redis.Redis.from_url(_in_db(redis_admin, first.resource["database"])) as admin:
        assert admin.dbsize() == 0
    with pytest.raises(redis.exceptions.AuthenticationError), redis.Redis.from_url(first.url) as a:
        a.ping()


def test_a_database_someone_else_filled_is_skipped(redis_admin: str) -> None:
    provider = RedisProvider(redis_admin, "TWELVE_REDIS_ADMIN_URL")
    probe = _run(provider.provision(new_addon_name("redis", "probe"), []))
    _run(provider.deprovision(probe.resource))
    busy = probe.resource["database"]
    with redis.Redis.from_url(_in_db(redis_admin, busy)) as admin:
        admin.set("not-twelves", "1")
    try:
        made = _run(provider.provision(new_addon_name("redis", "next"), []))
        _run(provider.deprovision(made.resource))
        assert made.resource["database"] != busy
    finally:
        with redis.Redis.from_url(_in_db(redis_admin, busy)) as admin:
            admin.delete("not-twelves")


def test_a_name_clash_is_a_clear_error(redis_admin: str) -> None:
    addon = new_addon_name("redis", "clash")
    user = resource_identifier(addon)
    with redis.Redis.from_url(redis_admin) as admin:
        admin.acl_setuser(user, enabled=False)
    try:
        with pytest.raises(Conflict, match=f"already has a user named {user}"):
            _run(RedisProvider(redis_admin, "TWELVE_REDIS_ADMIN_URL").provision(addon, []))
    finally:
        with redis.Redis.from_url(redis_admin) as admin:
            admin.acl_deluser(user)


def test_a_server_that_is_down_is_a_clear_error(down_port: int) -> None:
    url = f"redis://:hunter2@127.0.0.1:{down_port}/0"
    with pytest.raises(ServiceError) as caught:
        _run(RedisProvider(url, "TWELVE_REDIS_ADMIN_URL").provision("redis-x-down1", []))
    assert "Redis at 127.0.0.1:" in caught.value.message
    assert "hunter2" not in str(caught.value)


def test_a_wrong_admin_password_is_a_clear_error(redis_admin: str) -> None:
    url = "redis://nobody-here:wrong@127.0.0.1:6379/0"
    with pytest.raises(ServiceError, match=r"Redis at 127\.0\.0\.1:6379"):
        _run(RedisProvider(url, "TWELVE_REDIS_ADMIN_URL").provision("redis-x-wrong1", []))
