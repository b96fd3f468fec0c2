"""Runtimes on a server: a root daemon, a reachable home, and apps that each run as their own user.

The machine's extra interpreters live under root's home, which no app user can read: the platform
copies the one an app asks for into TWELVE_HOME/runtimes, where every app user can run it.
"""

from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support import EXAMPLES, FIXTURE_APPS, Daemon, server_base, uid_of
from twelve.build.interpreters import discover

pytestmark = pytest.mark.slow
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="per-app users need a root daemon and setpriv (util-linux)",
)
APPS = ("rt-pinned", "rt-other", "rt-express")


@pytest.fixture
def open_home() -> Iterator[Path]:
    with server_base("twelve-rt-", APPS) as base:
        yield base / "home"


def hidden_interpreter() -> tuple[int, int, int] | None:
    """A Python on this machine an app user cannot run where it is (pyenv's under /root)."""
    for interp in discover():
        if not os.access(Path(interp.path).parent, os.R_OK) or "/root/" in interp.path:
            return interp.version
    return None


@needs_root
def test_an_app_pinning_a_python_only_root_can_read_builds_runs_and_pins_its_runtime(
    open_home: Path, make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    version = hidden_interpreter()
    if version is None:
        pytest.skip("no Python under a home closed to other users (e.g. pyenv's under /root)")
    minor = f"{version[0]}.{version[1]}"
    label = ".".join(map(str, version))
    d = make_daemon(home=open_home, TWELVE_PYTHON_DOWNLOADS="0")
    assert "each app runs as its own system user" in d.output()
    app_dir = tmp_path / "pinned"
    shutil.copytree(EXAMPLES / "hello-python", app_dir)
    (app_dir / ".python-version").write_text(f"{minor}\n")
    (app_dir / "Procfile").write_text(
        "web: python -c \"import sys, runpy; print('running', sys.version.split()[0], "
        "sys.base_prefix, flush=True); runpy.run_path('app.py', run_name='__main__')\"\n"
    )
    d.cli("apps:create", "rt-pinned")
    out = d.cli("deploy", "-a", "rt-pinned", str(app_dir)).stdout
    assert f"Copying Python {label}" in out, out
    assert f"runtime python@{label}, copied from" in out
    assert d.get("rt-pinned").text == "hello from web.1\n"
    runtime = open_home / "runtimes" / "python" / label
    process = d.cli_json("ps", "-a", "rt-pinned")[0]  # type: ignore[index]
    assert uid_of(process["pid"]) == pwd.getpwnam("tw-rt-pinned").pw_uid
    logs = d.cli("logs", "-a", "rt-pinned", "-n", "100").stdout
    assert f"running {label} {runtime}" in logs, logs

    # Owned by root, runnable by the app's user, writable by no app user.
    assert runtime.stat().st_uid == 0 and runtime.stat().st_mode & 0o022 == 0
    probe = d.cli(
        "run", "-a", "rt-pinned", "--", "python", "-c",
        f"import os; print('writable', os.access('{runtime}/lib', os.W_OK))",
    )  # fmt: skip
    assert "writable False" in probe.stdout

    # A second app reuses the runtime; the listing names both as users.
    d.cli("apps:create", "rt-other")
    again = d.cli("deploy", "-a", "rt-other", str(app_dir)).stdout
    assert f"Copying Python {label}" not in again and f"runtime python@{label}" in again
    listed = d.cli_json("runtimes")
    entry = next(r for r in listed if r["version"] == label)  # type: ignore[union-attr]
    assert entry["language"] == "python" and entry["size"] > 10 << 20
    assert entry["used_by"] == ["rt-other v1 (live)", "rt-pinned v1 (live)"]

    refused = d.cli("runtimes:remove", f"python@{label}", check=False)
    assert refused.returncode == 1
    assert "rt-other v1 (live)" in refused.stderr and "rt-pinned v1 (live)" in refused.stderr
    assert runtime.is_dir() and d.get("rt-pinned").status_code == 200


@needs_root
def test_a_version_nothing_provides_fails_the_build_with_the_command_that_would(
    open_home: Path, make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    d = make_daemon(home=open_home, TWELVE_PYTHON_DOWNLOADS="0")
    app_dir = tmp_path / "old"
    shutil.copytree(EXAMPLES / "hello-python", app_dir)
    (app_dir / "runtime.txt").write_text("python-3.4.10\n")
    d.cli("apps:create", "rt-pinned")
    failed = d.cli("deploy", "-a", "rt-pinned", str(app_dir), check=False)
    assert failed.returncode == 1
    assert "Python 3.4 is not installed" in failed.stderr
    assert "twelve runtimes:install python@3.4" in failed.stderr


@needs_root
def test_a_node_app_gets_the_node_its_engines_ask_for_and_runs_it_as_its_own_user(
    open_home: Path, make_daemon: Callable[..., Daemon]
) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    d = make_daemon(home=open_home)
    d.cli("apps:create", "rt-express")
    out = d.cli("deploy", "-a", "rt-express", str(FIXTURE_APPS / "express-app")).stdout
    assert "Downloading Node.js 18." in out and "npm registry node-linux-" in out, out
    assert d.get("rt-express").text == "express web.1 built-at-build-time proto=http\n"
    probe = d.cli("run", "-a", "rt-express", "--", "sh", "-c", "id -un; node --version; npm -v")
    user, node_version, npm_version = probe.stdout.split()[:3]
    assert user == "tw-rt-express" and node_version.startswith("v18.")
    assert npm_version.split(".")[0] in {"9", "10"}
    listed = d.cli_json("runtimes")
    node = next(r for r in listed if r["language"] == "node")  # type: ignore[union-attr]
    assert node["version"] == node_version[1:] and node["used_by"] == ["rt-express v1 (live)"]
    runtime = open_home / "runtimes" / "node" / node["version"]
    assert runtime.stat().st_uid == 0 and (runtime / "bin" / "node").stat().st_mode & 0o022 == 0
