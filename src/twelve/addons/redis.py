"""Redis add-ons: a logical database of its own and an ACL user that may select only that one."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from twelve.addons.naming import (
    new_password,
    redis_acl_rules,
    redis_url,
    resource_identifier,
    server_address,
)
from twelve.addons.provider import AdminUrlProvider, Provisioned, first_line
from twelve.errors import Conflict, ServiceError

CONNECT_TIMEOUT = 5.0


def pre_acl_notice(url: str) -> str | None:
    """What a URL naming an ACL user means for clients written before Redis 6, else None.

    Heroku's Redis URLs carry only a password (``redis://:PASSWORD@HOST:PORT``); such clients send
    ``AUTH PASSWORD`` alone, which a server authenticates against its default user, not this one.
    """
    if not url.startswith("redis") or not (urlsplit(url).username or ""):
        return None
    return (
        "this URL names an ACL user on a shared Redis: clients older than Redis 6 (the Node "
        "redis 2.x/3.x client under bull, older redis-py and Sidekiq) cannot log in with it "
        "and fail with 'AUTH called without any password configured for the default user'"
    )


async def ping(admin_url: str) -> None:
    """PING with ``admin_url``; a ServiceError when the server does not answer."""
    async with RedisProvider(admin_url, "").admin() as conn:
        await conn.ping()


class RedisProvider(AdminUrlProvider):
    """Provisions on the server ``admin_url`` names (a user allowed ACL and CONFIG commands)."""

    service = "redis"

    @asynccontextmanager
    async def admin(self) -> AsyncIterator[aioredis.Redis]:
        """One admin connection (SELECT must not leak into a pool); errors become ServiceErrors."""
        conn = aioredis.Redis.from_url(
            self._admin_url,
            single_connection_client=True,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=30,
        )
        try:
            yield conn
        except ResponseError as exc:
            raise ServiceError(f"Redis at {self.server}: {first_line(exc)}") from None
        except RedisError as exc:
            raise ServiceError(
                f"cannot use Redis at {self.server}: {first_line(exc)}",
                f"check {self.origin or 'the server'}",
            ) from None
        except OSError as exc:
            raise ServiceError(f"cannot reach Redis at {self.server}: {exc.strerror}") from None
        finally:
            await conn.aclose()

    async def provision(self, addon: str, existing: list[dict[str, Any]]) -> Provisioned:
        user = resource_identifier(addon)
        password = new_password()
        taken = {int(r["database"]) for r in existing if "database" in r}
        async with self.admin() as conn:
            if await conn.acl_getuser(user):
                raise Conflict(
                    f"Redis at {self.server} already has a user named {user}",
                    "choose another add-on name, or delete that user first",
                )
            database = await _free_database(conn, taken)
            await _command(conn, "ACL", "SETUSER", user, *redis_acl_rules(password, database))
            try:
                await _save_acl(conn)
            except BaseException:
                await _command(conn, "ACL", "DELUSER", user)
                raise
        host, port = server_address(self._admin_url)
        return Provisioned(
            redis_url(user, password, host, port, database), {"user": user, "database": database}
        )

    async def deprovision(self, resource: dict[str, Any]) -> None:
        user = str(resource["user"])
        async with self.admin() as conn:
            await _command(conn, "ACL", "DELUSER", user)
            with contextlib.suppress(ResponseError):  # no client of that user is connected
                await _command(conn, "CLIENT", "KILL", "USER", user)
            await _command(conn, "SELECT", int(resource["database"]))
            await conn.flushdb()
            await _save_acl(conn)


async def _free_database(conn: aioredis.Redis, taken: set[int]) -> int:
    """The lowest empty logical database other than 0 (left to whoever else uses the server)."""
    reply = await conn.config_get("databases")
    count = int(reply.get("databases") or 16)
    for number in range(1, count):
        if number in taken:
            continue
        await _command(conn, "SELECT", number)
        if await conn.dbsize() == 0:
            return number
    raise ServiceError(
        f"Redis has no empty logical database left (it has {count})",
        "raise 'databases' in its redis.conf, or destroy an unused Redis add-on",
    )


async def _save_acl(conn: aioredis.Redis) -> None:
    """Persist users when the server keeps an ACL file (the Redis twelve runs does)."""
    try:
        await _command(conn, "ACL", "SAVE")
    except ResponseError as exc:
        if "ACL file" not in str(exc):
            raise


async def _command(conn: aioredis.Redis, *args: str | int) -> Any:
    """A raw command (ACL, CLIENT, SELECT have no typed wrappers in the client)."""
    return await conn.execute_command(*args)  # type: ignore[no-untyped-call]
