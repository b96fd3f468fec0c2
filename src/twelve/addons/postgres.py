"""PostgreSQL add-ons: a database of its own, owned by a role of its own with a random password."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import sql

from twelve.addons.naming import (
    new_password,
    postgres_url,
    resource_identifier,
    scram_sha256_verifier,
    server_address,
)
from twelve.addons.provider import AdminUrlProvider, Provisioned, first_line
from twelve.errors import Conflict, ServiceError

CONNECT_TIMEOUT = 5


async def ping(admin_url: str) -> None:
    """Log in with ``admin_url`` and run a query; a ServiceError when the server cannot."""
    provider = PostgresProvider(admin_url, "")
    async with provider.admin() as conn:
        await conn.execute("SELECT 1")


class PostgresProvider(AdminUrlProvider):
    """Provisions on the server ``admin_url`` names (a role allowed to create roles and databases)."""

    service = "postgres"

    @asynccontextmanager
    async def admin(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """An autocommit admin connection; driver errors become ServiceErrors naming the server."""
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._admin_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT
            )
        except psycopg.Error as exc:
            raise ServiceError(
                f"cannot log in to PostgreSQL at {self.server}: {first_line(exc)}",
                f"check {self.origin or 'the server'}",
            ) from None
        try:
            yield conn
        except psycopg.Error as exc:
            raise ServiceError(f"PostgreSQL at {self.server}: {first_line(exc)}") from None
        finally:
            await conn.close()

    async def provision(self, addon: str, existing: list[dict[str, Any]]) -> Provisioned:
        name = resource_identifier(addon)
        password = new_password()
        async with self.admin() as conn:
            await self._refuse_clash(conn, name)
            await conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(name), sql.Literal(scram_sha256_verifier(password))
                )
            )
            try:
                await conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(name), sql.Identifier(name)
                    )
                )
                await conn.execute(
                    sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name))
                )
            except BaseException:
                await _drop(conn, name)
                raise
        host, port = server_address(self._admin_url)
        return Provisioned(
            postgres_url(name, password, host, port, name), {"database": name, "role": name}
        )

    async def _refuse_clash(self, conn: psycopg.AsyncConnection[Any], name: str) -> None:
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = %s)"
            " + (SELECT count(*) FROM pg_database WHERE datname = %s)",
            (name, name),
        )
        row = await cur.fetchone()
        if row and row[0]:
            raise Conflict(
                f"PostgreSQL at {self.server} already has a role or database named {name}",
                "choose another add-on name, or remove that database first",
            )

    async def deprovision(self, resource: dict[str, Any]) -> None:
        async with self.admin() as conn:
            await _drop(
                conn, str(resource["database"]), str(resource["role"]), resource.get("login")
            )


async def _drop(
    conn: psycopg.AsyncConnection[Any],
    database: str,
    role: str | None = None,
    login: str | None = None,
) -> None:
    # WITH (FORCE) ends the sessions still connected (PostgreSQL 13+), as destroying must.
    await conn.execute(
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
    )
    if login and login != (role or database):  # the login role of a rotated credential
        await conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(login)))
    await conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role or database)))
