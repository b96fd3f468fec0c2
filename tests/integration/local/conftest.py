"""The `launcher` fixture: `twelve local` runs in the fixture app, ended by process group."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.local.localrun import Launcher


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    started = Launcher(tmp_path)
    try:
        yield started
    finally:
        started.close()
