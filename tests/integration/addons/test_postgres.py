"""PostgreSQL add-ons on a real server: a database and a role of their own, gone on destroy."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from twelve.addons.naming import new_addon_name, resource_identifier
from twelve.addons.postgres import PostgresProvider
from twelve.errors import Conflict, ServiceError


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def _exists(admin: str, name: str) -> tuple[bool, bool]:
    with psycopg.connect(admin) as conn:
        role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        db = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return role is not None, db is not None


def test_each_addon_gets_its_own_database_that_only_its_role_can_use(postgres_admin: str) -> None:
    provider = PostgresProvider(postgres_admin, "TWELVE_POSTGRES_ADMIN_URL")
    first = _run(provider.provision(new_addon_name("postgres", "one"), []))
    second = _run(provider.provision(new_addon_name("postgres", "two"), []))
    try:
        with psycopg.connect(first.url) as conn:
            conn.execute("CREATE TABLE notes (body text)")
            conn.execute("INSERT INTO notes VALUES ('kept')")
            conn.commit()
            assert conn.execute("SELECT body FROM notes").fetchall() == [("kept",)]
        # The second add-on's credentials do not open the first one's database.
        other_db = second.url.rsplit("/", 1)[0] + "/" + first.resource["database"]
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(other_db).close()
    finally:
        _run(provider.deprovision(first.resource))
        _run(provider.deprovision(second.resource))
    assert _exists(postgres_admin, first.resource["database"]) == (False, False)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(first.url, connect_timeout=5).close()


def test_destroying_ends_open_sessions_and_is_repeatable(postgres_admin: str) -> None:
    provider = PostgresProvider(postgres_admin, "TWELVE_POSTGRES_ADMIN_URL")
    made = _run(provider.provision(new_addon_name("postgres", "busy"), []))
    held = psycopg.connect(made.url)
    try:
        _run(provider.deprovision(made.resource))
    finally:
        held.close()
    _run(provider.deprovision(made.resource))  # already gone: not an error
    assert _exists(postgres_admin, made.resource["database"]) == (False, False)


def test_a_name_clash_is_a_clear_error_and_nothing_is_made(postgres_admin: str) -> None:
    addon = new_addon_name("postgres", "clash")
    name = resource_identifier(addon)
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{name}"')
    try:
        provider = PostgresProvider(postgres_admin, "TWELVE_POSTGRES_ADMIN_URL")
        with pytest.raises(Conflict, match=f"already has a role or database named {name}"):
            _run(provider.provision(addon, []))
        assert _exists(postgres_admin, name) == (True, False)
    finally:
        with psycopg.connect(postgres_admin, autocommit=True) as conn:
            conn.execute(f'DROP ROLE "{name}"')


def test_a_server_that_is_down_is_a_clear_error(down_port: int) -> None:
    url = f"postgresql://postgres:hunter2@127.0.0.1:{down_port}/postgres"
    provider = PostgresProvider(url, "TWELVE_POSTGRES_ADMIN_URL")
    with pytest.raises(ServiceError) as caught:
        _run(provider.provision(new_addon_name("postgres", "down"), []))
    assert "cannot log in to PostgreSQL at 127.0.0.1:" in caught.value.message
    assert caught.value.hint == "check TWELVE_POSTGRES_ADMIN_URL"
    assert "hunter2" not in str(caught.value)


def test_a_wrong_admin_login_is_a_clear_error(postgres_admin: str) -> None:
    url = "postgresql://no_such_admin_role@127.0.0.1:5432/postgres"
    provider = PostgresProvider(url, "TWELVE_POSTGRES_ADMIN_URL")
    with pytest.raises(ServiceError, match="no_such_admin_role"):
        _run(provider.provision(new_addon_name("postgres", "wrong"), []))
