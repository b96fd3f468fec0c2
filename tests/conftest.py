"""Shared fixtures: daemons in temporary homes and one warm dependency cache for the whole run."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support import Daemon, daemon_env, server_base


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dependency cache for every build in the run, so only the first build downloads."""
    shared = os.environ.get("TWELVE_TEST_UV_CACHE")
    return Path(shared) if shared else tmp_path_factory.mktemp("uv-cache")


@contextmanager
def daemons(root: Path, uv_cache: Path, *, remove_users: bool) -> Iterator[Callable[..., Daemon]]:
    """Start daemons with homes under ``root``; every one is stopped, and its processes ended, at
    the end; with ``remove_users``, so are the system users its apps ran as."""
    started: list[Daemon] = []

    def make(home: Path | None = None, *, python: str | None = None, **extra: str) -> Daemon:
        home = home or root / f"home{len(started)}"
        home.mkdir(exist_ok=True)
        daemon = Daemon(
            home, daemon_env(home, uv_cache, **extra), root / f"daemon{len(started)}.log"
        )
        if python is not None:  # another installation of twelve
            daemon.python = python
        daemon.start(isolated=remove_users)
        started.append(daemon)
        return daemon

    try:
        yield make
    finally:
        users: set[str] = set()
        for daemon in started:
            users.update(daemon.app_users() if remove_users else ())
            daemon.end()
        for user in users:
            subprocess.run(["userdel", user], capture_output=True, check=False)


@pytest.fixture
def make_daemon(tmp_path: Path, uv_cache: Path) -> Iterator[Callable[..., Daemon]]:
    """Daemons in pytest's closed temporary home: apps run as the daemon's own user."""
    with daemons(tmp_path, uv_cache, remove_users=False) as make:
        yield make


@pytest.fixture
def make_server_daemon(uv_cache: Path) -> Iterator[Callable[..., Daemon]]:
    """Daemons as servers run them: the home is reachable by other users, so a daemon running as
    root runs each app as its own system user."""
    with server_base("twelve-e2e-") as root, daemons(root, uv_cache, remove_users=True) as make:
        yield make
