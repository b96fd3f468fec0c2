"""Fixtures: the API in process with a user of every role (tests/access_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from access_support import Api, make_access_api


@pytest.fixture(scope="module")
def access_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    api = make_access_api(tmp_path_factory.mktemp("home"))
    yield api
    api.app.state.platform.store.close()


@pytest.fixture
def fresh_api(tmp_path: Path) -> Iterator[Api]:
    api = make_access_api(tmp_path / "home")
    yield api
    api.app.state.platform.store.close()
