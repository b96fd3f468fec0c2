"""Credential rotation on this machine's servers: the new works, the old is refused, nothing left."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
import redis

from twelve.compose import Graph

from .conftest import POSTGRES_ADMIN
from .test_postgres_backups import make_app_with_database, seed
from .test_redis_backups import make_app_with_redis


def test_postgres_rotations_keep_the_data_and_revoke_each_previous_login(
    graph: Graph, loop: asyncio.AbstractEventLoop
) -> None:
    app, addon = make_app_with_database(graph, loop)
    seed(addon.url, 10)
    manager = graph.platform.addons
    assert manager is not None
    urls = [addon.url]
    for _ in range(2):
        loop.run_until_complete(manager.rotate(app, addon.name))
        urls.append(manager.info(addon.name).url)
        assert graph.store.config.get(app)["DATABASE_URL"] == urls[-1]
    with psycopg.connect(urls[-1], autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (10,)
        conn.execute("CREATE TABLE made_after (id int)")
        owner = conn.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'made_after'"
        ).fetchone()
    assert owner == (addon.resource["role"],), "what the new login makes is the owner's"
    for old in urls[:-1]:
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(old, connect_timeout=5).close()
    loop.run_until_complete(manager.destroy_all(app))
    with psycopg.connect(POSTGRES_ADMIN) as conn:
        left = conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (addon.resource["role"] + "%",)
        ).fetchall()
    assert left == [], "destroying the add-on drops every login it had"


def test_a_shared_redis_users_old_password_stops_working(
    graph: Graph, loop: asyncio.AbstractEventLoop
) -> None:
    app, addon = make_app_with_redis(graph, loop)
    with redis.Redis.from_url(addon.url) as r:
        r.set("kept", "yes")
    manager = graph.platform.addons
    assert manager is not None
    loop.run_until_complete(manager.rotate(app, addon.name))
    new = manager.info(addon.name).url
    assert new != addon.url
    with redis.Redis.from_url(new) as r:
        assert r.get("kept") == b"yes"
    with pytest.raises(redis.AuthenticationError), redis.Redis.from_url(addon.url) as r:
        r.ping()
