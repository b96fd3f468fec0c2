"""Apps that cannot touch each other, and memory limits that hold (needs root, as on a server)."""

from __future__ import annotations

import os
import pwd
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support import EXAMPLES, Daemon, server_base, uid_of, wait_for

pytestmark = pytest.mark.slow
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="per-app users and cgroups need a root daemon and setpriv (util-linux)",
)
HELLO = EXAMPLES / "hello-python"
HOG = 'hog: python -c "import time; x = bytearray(256 * 1024 * 1024); time.sleep(60)"\n'


@pytest.fixture
def open_home() -> Iterator[Path]:
    """A TWELVE_HOME other users can traverse (pytest's own temp directories are closed)."""
    # The users of apps a failed test did not get to destroy are removed too.
    with server_base("twelve-iso-", ("alpha", "beta")) as base:
        yield base / "home"


def journal_bytes(journal: Path) -> int:
    """Bytes in an app's journal files, read again when a rotation renames one mid-count."""
    for _ in range(50):
        try:
            return sum(p.stat().st_size for p in journal.glob("app.log*"))
        except FileNotFoundError:
            continue
    raise AssertionError(f"{journal} kept rotating under every count")


@needs_root
def test_each_app_runs_as_its_own_user_and_cannot_read_another(
    open_home: Path, make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    d = make_daemon(home=open_home)
    assert "each app runs as its own system user" in d.output()
    app_dir = tmp_path / "hog"
    shutil.copytree(HELLO, app_dir)
    (app_dir / "Procfile").write_text("web: python app.py\n" + HOG)
    for app in ("alpha", "beta"):
        d.cli("apps:create", app)
        d.cli("config:set", "-a", app, f"SECRET={app}-secret-value")
        d.cli("deploy", "-a", app, str(app_dir))
    users = {app: pwd.getpwnam(f"tw-{app}") for app in ("alpha", "beta")}
    processes = {app: d.cli_json("ps", "-a", app)[0] for app in users}  # type: ignore[index]
    for app, entry in users.items():
        assert uid_of(processes[app]["pid"]) == entry.pw_uid
    beta_builds = open_home / "builds" / "beta"
    assert beta_builds.stat().st_uid == users["beta"].pw_uid
    assert beta_builds.stat().st_mode & 0o077 == 0, "closed to everyone else"

    # alpha's one-off process cannot read beta's slug, nor its config through /proc.
    beta_pid = processes["beta"]["pid"]
    probe = d.cli(
        "run", "-a", "alpha", "--",
        "python", "-c",
        "import os, sys\n"
        f"for path in ['{beta_builds}', '/proc/{beta_pid}/environ']:\n"
        "    try:\n"
        "        os.listdir(path) if 'builds' in path else open(path).read()\n"
        "        print('READ', path)\n"
        "    except PermissionError:\n"
        "        print('DENIED', path)\n"
        "print('uid', os.getuid())",
    )  # fmt: skip
    assert f"DENIED {beta_builds}" in probe.stdout
    assert f"DENIED /proc/{beta_pid}/environ" in probe.stdout
    assert f"uid {users['alpha'].pw_uid}" in probe.stdout
    assert "beta-secret-value" not in probe.stdout

    d.cli("apps:destroy", "beta", "--confirm", "beta")
    with pytest.raises(KeyError):
        pwd.getpwnam("tw-beta")


@needs_root
def test_a_process_over_its_memory_limit_is_killed_restarted_and_named(
    open_home: Path, make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    d = make_daemon(home=open_home)
    app_dir = tmp_path / "hog"
    shutil.copytree(HELLO, app_dir)
    (app_dir / "Procfile").write_text("web: python app.py\n" + HOG)
    d.cli("apps:create", "alpha")
    d.cli("deploy", "-a", "alpha", str(app_dir))
    limited = d.cli("ps:limits", "-a", "alpha", "hog", "memory=64M")
    assert "memory=64M" in limited.stdout
    d.cli("ps:scale", "-a", "alpha", "hog=1")

    def killed_twice() -> bool:
        hog = next(p for p in d.cli_json("ps", "-a", "alpha") if p["name"] == "hog.1")  # type: ignore[union-attr]
        return hog["restarts"] >= 1 and "memory limit" in (hog["last_exit"] or "")

    wait_for(killed_twice, 60, "hog.1 to be killed over its limit and restarted")
    logs = d.cli("logs", "-a", "alpha", "-n", "300", "--ps", "hog").stdout
    assert "Error R15 (Memory quota vastly exceeded)" in logs and "memory=64M" in logs
    assert body_ok(d)
    shown = d.cli_json("ps:limits", "-a", "alpha")
    assert shown["types"]["hog"]["memory"] == 64 << 20  # type: ignore[index]
    assert shown["enforced_with"].startswith("cgroup")  # type: ignore[index]


def body_ok(d: Daemon) -> bool:
    """The app's web process keeps serving while another type of it is killed over and over."""
    return d.get("alpha").status_code == 200


def test_other_apps_keep_serving_while_one_crash_loops_and_floods_its_logs(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    """Runs without root too: the noisy app's damage stays in its own processes and journal."""
    noisy = tmp_path / "noisy"
    shutil.copytree(HELLO, noisy)
    (noisy / "flood.py").write_text(
        "import sys\nwhile True:\n    sys.stdout.write('x' * 200 + '\\n')\n"
    )
    (noisy / "Procfile").write_text("web: python app.py\ncrasher: exit 1\nflood: python flood.py\n")
    d = make_daemon(TWELVE_LOG_MAX_BYTES="256K", TWELVE_LOG_FILES="2")
    for app, source in (("quiet", HELLO), ("noisy", noisy)):
        d.cli("apps:create", app)
        d.cli("deploy", "-a", app, str(source))
    d.cli("ps:scale", "-a", "noisy", "crasher=3", "flood=1")
    deadline = time.monotonic() + 8
    served = 0
    while time.monotonic() < deadline:
        assert d.get("quiet").status_code == 200
        served += 1
    assert served > 20
    journal = d.home / "logs" / "noisy"
    assert journal_bytes(journal) < 2 * 256 * 1024 + 64 * 1024
    crashers = [p for p in d.cli_json("ps", "-a", "noisy") if p["name"].startswith("crasher")]  # type: ignore[union-attr]
    assert all(p["restarts"] >= 1 for p in crashers)
    assert "hello from web.1" in d.get("quiet").text


FORK_BOMB = """
import os, time
children = 0
try:
    for _ in range(100000):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
except OSError as exc:
    print(f"fork refused after {children} children: {exc.strerror}", flush=True)
time.sleep(60)
"""


@needs_root
def test_a_fork_bomb_stops_at_its_process_limit_and_other_apps_keep_serving(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb"
    shutil.copytree(HELLO, bomb)
    (bomb / "bomb.py").write_text(FORK_BOMB)
    (bomb / "Procfile").write_text("web: python app.py\nbomb: python bomb.py\n")
    d = make_daemon(TWELVE_PROCESS_PIDS_MAX="40")
    for app, source in (("quiet", HELLO), ("bomb", bomb)):
        d.cli("apps:create", app)
        d.cli("deploy", "-a", app, str(source))
    d.cli("ps:scale", "-a", "bomb", "bomb=1")

    def refused() -> str | None:
        logs = d.cli("logs", "-a", "bomb", "--ps", "bomb").stdout
        return next((line for line in logs.splitlines() if "fork refused" in line), None)

    line = wait_for(refused, 30, "the fork bomb to hit its limit")
    children = int(line.split("after ")[1].split()[0])
    assert children < 40
    for _ in range(20):
        assert d.get("quiet").status_code == 200
    assert d.cli("apps").returncode == 0, "the platform itself answers"
