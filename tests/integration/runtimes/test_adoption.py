"""Adopting an interpreter of this machine: the copy runs on its own, for another user too, and
stays while a release within the rollback window uses it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import server_base
from twelve.build.interpreters import discover
from twelve.errors import Conflict, UsageError
from twelve.runtimes.catalog import installed
from twelve.runtimes.service import Runtimes
from twelve.settings import Settings, uv_binary
from twelve.store import Store


@pytest.fixture
def open_home() -> Iterator[Path]:
    """A home other users can reach, as on a server (pytest's temporary directories are closed)."""
    with server_base("twelve-rt-adopt-") as base:
        yield base / "home"


def newest_interpreter() -> str:
    found = discover()
    if not found:
        pytest.skip("no CPython 3 on this machine")
    return found[0].path


def as_nobody(argv: list[str]) -> subprocess.CompletedProcess[str]:
    prefix: list[str] = []
    if os.geteuid() == 0 and shutil.which("setpriv"):
        prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
    return subprocess.run(
        [*prefix, *argv], capture_output=True, text=True, timeout=120, check=False, cwd="/"
    )


def test_an_adopted_interpreter_runs_from_its_copy_and_builds_a_virtualenv(
    open_home: Path,
) -> None:
    settings = Settings.from_environ({"TWELVE_HOME": str(open_home)})
    lines: list[str] = []
    runtime = Runtimes(settings).add(newest_interpreter(), lines.append)
    assert lines and lines[0].startswith(f"Copying Python {runtime.label} from ")
    assert runtime.path == open_home / "runtimes" / "python" / runtime.label
    probe = as_nobody(
        [str(runtime.path / "bin" / "python3"), "-c", "import sys, ssl; print(sys.base_prefix)"]
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == str(runtime.path), "the copy runs from its own prefix"
    venv = open_home / "venv"
    made = subprocess.run(
        [uv_binary(), "venv", "--quiet", "--python", str(runtime.program), str(venv)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    inside = as_nobody([str(venv / "bin" / "python"), "-c", "import sys; print(sys.version)"])
    assert inside.stdout.startswith(runtime.label)
    assert [r.key for r in installed(settings.runtimes_dir)] == [runtime.key]


def test_adopting_something_that_is_not_an_interpreter_is_refused(open_home: Path) -> None:
    settings = Settings.from_environ({"TWELVE_HOME": str(open_home)})
    with pytest.raises(UsageError, match="not a working Python interpreter"):
        Runtimes(settings).add("/bin/true", lambda _line: None)
    assert installed(settings.runtimes_dir) == []


def test_removal_is_refused_while_a_release_in_the_rollback_window_uses_it(
    open_home: Path,
) -> None:
    settings = Settings.from_environ({"TWELVE_HOME": str(open_home)})
    runtimes = Runtimes(settings)
    runtime = runtimes.add(newest_interpreter(), lambda _line: None)
    open_home.mkdir(exist_ok=True)
    store = Store(open_home / "twelve.db")
    store.apps.create("rt-old")
    build = store.builds.create("rt-old", "test")
    store.builds.finish(build.id, status="succeeded", runtime={"runtimes": [runtime.key]})
    other = store.builds.create("rt-old", "test")
    store.builds.finish(other.id, status="succeeded", runtime={"runtimes": []})
    store.releases.add("rt-old", 1, build.id, {}, {}, "uses it")
    for version in range(2, 11):
        store.releases.add("rt-old", version, other.id, {}, {}, "does not")
    with pytest.raises(Conflict, match="rt-old v1") as refused:
        runtimes.remove(runtime.key, store)
    assert "(live)" not in refused.value.message, "v1 is a rollback target, not the live one"
    store.releases.add("rt-old", 11, other.id, {}, {}, "pushes v1 out of the window")
    assert runtimes.remove(runtime.key, store) == runtime
    assert not runtime.path.exists()
