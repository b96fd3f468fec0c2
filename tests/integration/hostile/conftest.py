"""The API in process, on the objects the daemon composes (a real store, deployer, supervisor and
add-on manager in a temporary home); nothing is started until a request asks for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from twelve.api.app import create_app
from twelve.api.context import Platform
from twelve.compose import compose
from twelve.settings import Settings

TOKEN = "hostile-input-token"


def platform_for(home: Path, *apps: str) -> Platform:
    """A platform on a fresh home with ``apps`` created (no release, so no process runs)."""
    settings = Settings.from_environ({"TWELVE_HOME": str(home)})
    # No PATH: no database server binaries are found, so nothing is provisioned.
    graph = compose(settings, TOKEN, path="")
    for app in apps:
        graph.store.apps.create(app)
    return graph.platform


async def send_all(
    api: Starlette, requests: list[tuple[str, str, bytes | None]]
) -> list[httpx.Response]:
    """(method, path, body) requests to ``api`` as its admin, one after the other."""
    transport = httpx.ASGITransport(app=api)
    headers = {
        "Authorization": f"Bearer {api.state.platform.token}",
        "Content-Type": "application/json",
    }
    async with httpx.AsyncClient(transport=transport, base_url="http://twelve") as client:
        return [
            await client.request(method, path, content=body, headers=headers)
            for method, path, body in requests
        ]


@pytest.fixture(scope="module")
def make_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Starlette]]:
    """Build API apps on fresh homes; their stores are closed at the end."""
    made: list[Platform] = []

    def make(*apps: str) -> Starlette:
        platform = platform_for(tmp_path_factory.mktemp("home"), *apps)
        made.append(platform)
        return create_app(platform)

    yield make
    for platform in made:
        platform.store.close()
