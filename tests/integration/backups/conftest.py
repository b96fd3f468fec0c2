"""A platform built in-process on this machine's PostgreSQL and Redis, for backup tests."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import POSTGRES_ADMIN, REDIS_ADMIN, listening, requires_service
from twelve.compose import Graph, compose
from twelve.settings import Settings
from twelve.store.addons import Addon


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def app_with_addon(
    graph: Graph, loop: asyncio.AbstractEventLoop, service: str, prefix: str
) -> tuple[str, Addon]:
    """A new app (named ``prefix``-…) with a fresh add-on of ``service``."""
    app = unique(prefix)
    graph.store.apps.create(app)
    assert graph.platform.addons is not None
    addon, _ = loop.run_until_complete(graph.platform.addons.create(app, service))
    return app, addon


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def graph(tmp_path: Path, loop: asyncio.AbstractEventLoop) -> Iterator[Graph]:
    """A platform whose add-ons live on the machine's servers; they are all destroyed after."""
    requires_service("PostgreSQL on 127.0.0.1:5432", listening(5432))
    requires_service("Redis on 127.0.0.1:6379", listening(6379))
    settings = Settings.from_environ(
        {
            "TWELVE_HOME": str(tmp_path / "home"),
            "TWELVE_POSTGRES_ADMIN_URL": POSTGRES_ADMIN,
            "TWELVE_REDIS_ADMIN_URL": REDIS_ADMIN,
        }
    )
    built = compose(settings, "token")
    yield built
    manager = built.platform.addons
    assert manager is not None
    for app in built.store.apps.all():
        loop.run_until_complete(manager.destroy_all(app.name))
    built.store.close()
