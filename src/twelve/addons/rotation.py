"""New credentials for an add-on while the old ones keep working, then the old ones revoked.

PostgreSQL: a role holds one password, so each rotation makes a new login role that is a member
of the database's owner role and acts as it (``SET role``), so what it creates is the owner's;
the previous login is then dropped (or, the first time, the owner stops logging in). Redis on a
shared server: the add-on's ACL user gets a second password, and the first is removed after.
Between the two steps a release gives every process the new URL and the old processes end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from psycopg import sql

from twelve.addons.dedicated import DedicatedRedisProvider, heroku_url
from twelve.addons.naming import (
    new_password,
    postgres_url,
    redis_password_hash,
    redis_url,
    scram_sha256_verifier,
    server_address,
)
from twelve.addons.postgres import PostgresProvider
from twelve.addons.provider import Provider
from twelve.addons.redis import RedisProvider, _command, _save_acl
from twelve.errors import UsageError
from twelve.store.addons import Addon


@dataclass(frozen=True)
class Rotation:
    """The new URL and resource, and how to revoke the old credential once nothing uses it."""

    url: str
    resource: dict[str, Any]
    revoke: Callable[[], Awaitable[None]]
    undo: Callable[[], Awaitable[None]]


def next_login(owner: str, generation: int) -> str:
    """The login role of a rotation: the owner's name (cut to fit 63 bytes) and a number."""
    suffix = f"_c{generation}"
    return owner[: 63 - len(suffix)] + suffix


async def begin(provider: Provider, addon: Addon) -> Rotation:
    if isinstance(provider, PostgresProvider):
        return await _postgres(provider, addon)
    if isinstance(provider, RedisProvider):
        return await _redis(provider, addon)
    if isinstance(provider, DedicatedRedisProvider):
        return await _dedicated(provider, addon)
    raise UsageError(f"{addon.name}'s credentials cannot be rotated by twelve")


async def _postgres(provider: PostgresProvider, addon: Addon) -> Rotation:
    owner, database = str(addon.resource["role"]), str(addon.resource["database"])
    old = str(addon.resource.get("login", owner))
    generation = int(addon.resource.get("generation", 1)) + 1
    login = next_login(owner, generation)
    password = new_password()
    async with provider.admin() as conn:
        await conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(login),
                sql.Literal(scram_sha256_verifier(password)),
                sql.Identifier(owner),
            )
        )
        await conn.execute(
            sql.SQL("ALTER ROLE {} SET role = {}").format(sql.Identifier(login), sql.Literal(owner))
        )
    host, port = server_address(provider.admin_url)
    resource = {**addon.resource, "login": login, "generation": generation}

    async def revoke() -> None:
        async with provider.admin() as conn:
            if old == owner:
                await conn.execute(
                    sql.SQL("ALTER ROLE {} NOLOGIN PASSWORD NULL").format(sql.Identifier(owner))
                )
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (old,),
            )
            if old != owner:
                await conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(old)))

    async def undo() -> None:
        async with provider.admin() as conn:
            await conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(login)))

    return Rotation(postgres_url(login, password, host, port, database), resource, revoke, undo)


async def _redis(provider: RedisProvider, addon: Addon) -> Rotation:
    user, database = str(addon.resource["user"]), int(addon.resource["database"])
    old_password = unquote(urlsplit(addon.url).password or "")
    password = new_password()
    async with provider.admin() as conn:
        await _command(conn, "ACL", "SETUSER", user, redis_password_hash(password))
        await _save_acl(conn)
    host, port = server_address(provider.admin_url)

    async def remove(secret: str) -> None:
        async with provider.admin() as conn:
            await _command(conn, "ACL", "SETUSER", user, "!" + redis_password_hash(secret)[1:])
            await _save_acl(conn)

    return Rotation(
        redis_url(user, password, host, port, database),
        dict(addon.resource),
        lambda: remove(old_password),
        lambda: remove(password),
    )


async def _dedicated(provider: DedicatedRedisProvider, addon: Addon) -> Rotation:
    """A Redis of its own: twelve's admin login gives the default user a second password."""
    server = provider.servers.server(str(addon.resource["dedicated"]))
    state = server.state()
    assert state is not None
    old, password = state.password, new_password()
    admin = RedisProvider(server.admin_url(), "the add-on's own redis-server")

    async def change(*rules: str) -> None:
        async with admin.admin() as conn:
            await _command(conn, "ACL", "SETUSER", "default", *rules)

    await change(redis_password_hash(password))

    async def revoke() -> None:
        await change("!" + redis_password_hash(old)[1:])
        server.set_password(password)

    async def undo() -> None:
        await change("!" + redis_password_hash(password)[1:])

    return Rotation(heroku_url(password, state.port), dict(addon.resource), revoke, undo)
