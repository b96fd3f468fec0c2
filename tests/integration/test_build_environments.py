"""A redeploy whose dependency files did not change reuses the environment an earlier build made."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from support import FIXTURE_APPS, PYTHON_VERSION
from twelve.build.runner import build_slug
from twelve.settings import Settings

pytestmark = pytest.mark.slow


def build(settings: Settings, app: Path, build_id: int) -> tuple[Path, list[str]]:
    slug = settings.builds_dir / "envs" / str(build_id)
    shutil.copytree(app, slug / "app")
    lines: list[str] = []
    asyncio.run(build_slug(settings, slug, lines.append, {}))
    return slug, lines


@pytest.fixture
def settings(tmp_path: Path, uv_cache: Path) -> Settings:
    return Settings.from_environ(
        {
            "TWELVE_HOME": str(tmp_path / "home"),
            "TWELVE_UV_CACHE_DIR": str(uv_cache),
            "TWELVE_PYTHON_DEFAULT": PYTHON_VERSION,
        }
    )


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A copy of the flask-gunicorn fixture app, to edit between builds."""
    copy = tmp_path / "app"
    shutil.copytree(FIXTURE_APPS / "flask-gunicorn", copy)
    return copy


def test_an_unchanged_redeploy_installs_nothing_and_a_changed_one_installs_afresh(
    settings: Settings, app: Path
) -> None:
    first, first_output = build(settings, app, 1)
    assert not any("reusing" in line for line in first_output)
    assert any("Install dependencies from requirements.txt" in line for line in first_output)

    second, output = build(settings, app, 2)
    assert "-----> Dependency files unchanged: reusing the environment of build 1" in output
    assert not any("Install dependencies" in line for line in output), "nothing installed"
    assert (second / "venv").resolve() == (first / "venv").resolve()
    assert (second / "venv" / "bin" / "gunicorn").is_file()

    requirements = app / "requirements.txt"
    requirements.write_text(requirements.read_text() + "itsdangerous\n")
    third, output = build(settings, app, 3)
    assert any("Install dependencies from requirements.txt" in line for line in output)
    assert (third / "venv").resolve() != (first / "venv").resolve()
    # The first release's environment is untouched: a rollback to it still runs.
    ran = subprocess.run(
        [str(first / "venv" / "bin" / "python"), "-c", "import flask, gunicorn"], check=False
    )
    assert ran.returncode == 0


def test_an_app_installing_its_own_source_gets_a_fresh_environment_each_build(
    settings: Settings, app: Path
) -> None:
    (app / "requirements.txt").write_text("-r base.txt\n")
    (app / "base.txt").write_text(
        (FIXTURE_APPS / "flask-gunicorn" / "requirements.txt").read_text()
    )
    build(settings, app, 1)
    second, output = build(settings, app, 2)
    assert not any("reusing" in line for line in output), "base.txt is not in the key"
    assert not (second / "venv").is_symlink() and (second / "venv" / "bin" / "gunicorn").is_file()
