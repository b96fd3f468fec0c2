"""Shared fixtures: daemons in temporary homes and one warm dependency cache for the whole run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import Daemon, daemon_env


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dependency cache for every build in the run, so only the first build downloads."""
    shared = os.environ.get("TWELVE_TEST_UV_CACHE")
    return Path(shared) if shared else tmp_path_factory.mktemp("uv-cache")


@pytest.fixture
def make_daemon(tmp_path: Path, uv_cache: Path) -> Iterator[object]:
    """Start daemons in a temporary home; every one is stopped, and its processes ended, at the end."""
    started: list[Daemon] = []

    def make(home: Path | None = None, *, python: str | None = None, **extra: str) -> Daemon:
        home = home or tmp_path / f"home{len(started)}"
        home.mkdir(exist_ok=True)
        daemon = Daemon(
            home, daemon_env(home, uv_cache, **extra), tmp_path / f"daemon{len(started)}.log"
        )
        if python is not None:  # another installation of twelve
            daemon.python = python
        daemon.start()
        started.append(daemon)
        return daemon

    yield make
    for daemon in started:
        daemon.stop()
        daemon.end_recorded_processes()
        daemon.unmount_scratch()
