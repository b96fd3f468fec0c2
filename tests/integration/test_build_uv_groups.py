"""A uv.lock app gets what Heroku installs: its dependencies and none of its dependency groups."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from support import PYTHON_VERSION
from twelve.build.runner import build_slug
from twelve.settings import Settings, uv_binary

pytestmark = pytest.mark.slow

PYPROJECT = """\
[project]
name = "grouped"
version = "1.0.0"
requires-python = ">=3.10"
dependencies = ["itsdangerous"]

[dependency-groups]
dev = ["blinker"]
prod = ["markupsafe"]

[tool.uv]
default-groups = ["dev", "prod"]
"""


def test_default_groups_are_left_out_as_heroku_leaves_them_out(
    tmp_path: Path, uv_cache: Path
) -> None:
    settings = Settings.from_environ(
        {
            "TWELVE_HOME": str(tmp_path / "home"),
            "TWELVE_UV_CACHE_DIR": str(uv_cache),
            "TWELVE_PYTHON_DEFAULT": PYTHON_VERSION,
        }
    )
    slug = settings.builds_dir / "grouped" / "1"
    app = slug / "app"
    app.mkdir(parents=True)
    (app / "pyproject.toml").write_text(PYPROJECT)
    (app / ".python-version").write_text(f"{PYTHON_VERSION}\n")
    (app / "Procfile").write_text("web: python -m http.server $PORT\n")
    locked = subprocess.run(
        [uv_binary(), "lock", "--quiet"], cwd=app, capture_output=True, text=True, timeout=300,
        env={**os.environ, "UV_CACHE_DIR": str(uv_cache)}, check=False,
    )  # fmt: skip
    assert locked.returncode == 0, locked.stderr
    lines: list[str] = []
    asyncio.run(build_slug(settings, slug, lines.append, {}))

    python = str(slug / "venv" / "bin" / "python")
    for module, installed in (("itsdangerous", True), ("blinker", False), ("markupsafe", False)):
        found = subprocess.run([python, "-c", f"import {module}"], capture_output=True, check=False)
        assert (found.returncode == 0) is installed, f"{module}: {lines[-20:]}"
