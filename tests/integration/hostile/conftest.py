"""The API in process, on the objects the daemon composes (a real store, deployer, supervisor and
add-on manager in a temporary home); nothing is started until a request asks for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from twelve.addons.manager import AddonManager
from twelve.addons.registry import Registry
from twelve.addons.services import ServiceRunner
from twelve.api.app import create_app
from twelve.api.context import Platform
from twelve.deploy import Deployer
from twelve.logs.hub import LogHub
from twelve.settings import Settings
from twelve.store import Store
from twelve.supervisor.manager import Supervisor
from twelve.supervisor.policy import Backoff
from twelve.supervisor.process import Timing

TOKEN = "hostile-input-token"


def _quiet(*_args: Any) -> None:
    return None


def platform_for(home: Path, *apps: str) -> Platform:
    """A platform on a fresh home with ``apps`` created (no release, so no process runs)."""
    settings = Settings.from_environ({"TWELVE_HOME": str(home)})
    store = Store(home / "twelve.db")
    hub = LogHub(home / "logs", 1 << 20, 2)
    timing = Timing(boot_timeout=5, stop_timeout=1, drain_pause=0, backoff=Backoff())
    supervisor = Supervisor(store, home / "scratch", timing, _quiet, _quiet, lambda: None)
    deployer = Deployer(settings, store, supervisor, _quiet, _quiet)
    platform = Platform(settings, store, deployer, supervisor, hub, TOKEN)
    # No PATH: no database server binaries are found, so nothing is provisioned.
    services = ServiceRunner(settings.services_dir, store, _quiet, "")
    platform.addons = AddonManager(store, Registry(settings, services), deployer, _quiet)
    for app in apps:
        store.create_app(app)
    return platform


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
