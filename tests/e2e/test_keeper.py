"""Apps outlive the daemon: restarted, killed or handed over, the processes, the router and the
log lines carry on, and the next daemon adopts them."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from support import (
    EXAMPLES,
    ROOT,
    Daemon,
    Load,
    group_alive,
    requires_service,
    server_base,
    until_requests,
    wait_for,
)
from twelve.addons.binaries import find_redis

pytestmark = pytest.mark.slow
APP = "kp-tick"
FORMATION = {"web.1", "web.2", "clock.1"}
TICKER = """
import itertools, sys, time
for n in itertools.count(1):
    print(f"tick {n}", flush=True)
    time.sleep(1)
"""


def processes(d: Daemon) -> list[dict[str, Any]]:
    return d.cli_json("ps", "-a", APP)  # type: ignore[return-value]


def up(d: Daemon) -> bool:
    states = {p["name"]: p["state"] for p in processes(d) if p["state"] != "exited"}
    return all(states.get(n) == "up" for n in FORMATION)


def ticking_app(
    make_daemon: Callable[..., Daemon],
    tmp_path: Path,
    home: Path | None = None,
    *,
    redis_addon: bool = False,
    python: str | None = None,
) -> Daemon:
    source = tmp_path / "ticker"
    shutil.copytree(EXAMPLES / "hello-python", source)
    (source / "ticker.py").write_text(TICKER)
    (source / "Procfile").write_text("web: python app.py\nclock: python -u ticker.py\n")
    d = make_daemon(home, python=python, TWELVE_STOP_APPS="0")
    d.cli("apps:create", APP)
    if redis_addon:  # a redis-server twelve runs for this add-on alone
        d.cli("addons:create", "redis", "-a", APP)
    d.cli("deploy", "-a", APP, str(source))
    d.cli("ps:scale", "-a", APP, "web=2", "clock=1")
    wait_for(lambda: up(d), 60, "the formation up")
    return d


def running(d: Daemon) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in processes(d) if p["state"] != "exited"}


def ticks(d: Daemon) -> list[int]:
    """Every ``tick N`` line of clock.1 in the app's journal, in journal order."""
    journal = (d.home / "logs" / APP / "app.log").read_text()
    return [int(n) for n in re.findall(r"app\[clock\.1\]: tick (\d+)$", journal, re.MULTILINE)]


@contextlib.contextmanager
def steady_load(d: Daemon) -> Iterator[list[Load]]:
    url = f"http://127.0.0.1:{d.router_url.rsplit(':', 1)[1]}/"
    loads = [Load(url, f"{APP}.localhost"), Load(url, f"{APP}.localhost", close=True)]
    with loads[0].running(clients=2), loads[1].running(clients=2):
        yield loads


def more_requests(loads: list[Load], count: int) -> None:
    for load in loads:
        until_requests(load, count)


def failures(loads: list[Load]) -> dict[str, int]:
    failed: dict[str, int] = {}
    for load in loads:
        failed.update(load.failures())
    return failed


def assert_adopted(d: Daemon, before: dict[str, dict[str, Any]]) -> None:
    wait_for(lambda: up(d), 60, "the formation adopted")
    after = running(d)
    assert {n: p["pid"] for n, p in after.items()} == {n: p["pid"] for n, p in before.items()}
    assert all(p["restarts"] == 0 for p in after.values()), after
    assert {n: p["release"] for n, p in after.items()} == {
        n: p["release"] for n, p in before.items()
    }


def assert_every_tick_once_in_order(d: Daemon) -> None:
    seen = ticks(d)
    assert seen == list(range(seen[0], seen[0] + len(seen))), seen


def test_restart_kill_and_keeper_hand_over_keep_apps_serving_and_logging(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    requires_service("redis-server", find_redis(os.environ["PATH"]) is not None)
    d = ticking_app(make_daemon, tmp_path, redis_addon=True)
    before = running(d)
    keeper = d.keeper_pid()
    assert keeper is not None
    addon = redis.Redis.from_url(d.cli_json("config", "-a", APP, "--reveal")["REDIS_URL"])  # type: ignore[index]
    addon.set("kept", "across restarts")
    redis_pid = addon.info("server")["process_id"]
    with steady_load(d) as loads:
        more_requests(loads, 50)
        for how in (signal.SIGTERM, signal.SIGKILL):
            assert d.stop(how) == (0 if how == signal.SIGTERM else -signal.SIGKILL)
            assert addon.get("kept") == b"across restarts", "the add-on serves with no daemon"
            gap_start = max(ticks(d), default=0)
            more_requests(loads, 100)  # served while no daemon runs
            time.sleep(3)  # the app writes lines while no daemon runs: the gap is the point
            assert max(ticks(d)) == gap_start, "nothing reaches the journal without a daemon"
            d.start()
            assert_adopted(d, before)
            wait_for(lambda: max(ticks(d)) >= gap_start + 3, 30, "the gap's lines")  # noqa: B023
            more_requests(loads, 50)
            assert failures(loads) == {}, f"requests failed across {how.name}: {failures(loads)}"
            assert addon.info("server")["process_id"] == redis_pid, "the add-on's server adopted"
        # The keeper hands over to a new start of itself: same pid, same children.
        os.kill(keeper, signal.SIGHUP)
        wait_for(lambda: "resumed with" in keeper_log(d), 30, "the keeper's successor")
        more_requests(loads, 100)
        d.cli("ps:scale", "-a", APP, "web=2")  # spawning through the new keeper works
        more_requests(loads, 50)
    assert failures(loads) == {}, f"requests failed: {failures(loads)}"
    assert d.keeper_pid() == keeper
    assert_adopted(d, before)
    tick_now = max(ticks(d))
    wait_for(lambda: max(ticks(d)) > tick_now + 1, 30, "lines after the hand-over")
    assert_every_tick_once_in_order(d)
    assert addon.info("server")["process_id"] == redis_pid
    addon.close()


def test_a_process_that_exits_while_no_daemon_runs_is_restarted_and_scale_down_leaves_nothing(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    d = ticking_app(make_daemon, tmp_path)
    before = running(d)
    d.stop(signal.SIGKILL)
    os.killpg(before["clock.1"]["pid"], signal.SIGKILL)
    d.start()
    wait_for(lambda: running(d)["clock.1"]["restarts"] >= 1, 30, "the dead clock restarted")
    wait_for(lambda: up(d), 60, "the formation back")
    now = running(d)
    assert now["web.1"]["pid"] == before["web.1"]["pid"]
    assert now["clock.1"]["pid"] != before["clock.1"]["pid"]
    d.cli("ps:scale", "-a", APP, "web=1", "clock=0")
    wait_for(lambda: not group_alive(now["web.2"]["pid"]), 30, "web.2 gone")
    assert not group_alive(now["clock.1"]["pid"])
    d.cli("apps:destroy", APP, "--confirm", APP)
    wait_for(lambda: not group_alive(now["web.1"]["pid"]), 30, "web.1 gone")


def keeper_log(d: Daemon) -> str:
    return (d.home / "run" / "keeper.log").read_text(errors="replace")


def previous_commit_installation(tmp_path: Path) -> str:
    """A virtualenv running the previous commit of twelve, with this run's dependencies: what a
    server had before it was upgraded to the twelve under test."""
    found = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", "HEAD~1"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        pytest.skip("this checkout has no previous commit (a shallow clone) to upgrade from")
    source = tmp_path / "previous"
    source.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", found.stdout.strip(), "src"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
    venv = tmp_path / "previous-venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_paths()["purelib"])
    # This run's packages, then the previous twelve ahead of the one installed among them.
    (venv_site(venv) / "twelve-previous.pth").write_text(
        f"import site, sys; site.addsitedir({str(site)!r}); "
        f"sys.path.insert(0, {str(source / 'src')!r})\n"
    )
    return str(venv / "bin" / "python")


def venv_site(venv: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return venv / "lib" / version / "site-packages"


def test_an_upgrade_from_the_previous_commit_keeps_apps_serving_and_hands_the_keeper_over(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    previous = previous_commit_installation(tmp_path)
    d = ticking_app(make_daemon, tmp_path, python=previous)
    keeper = d.keeper_pid()
    assert keeper is not None
    keeper_command = Path(f"/proc/{keeper}/cmdline").read_bytes().split(b"\0")
    assert keeper_command[0].decode() == previous, "the previous twelve started the keeper"
    before = running(d)
    with steady_load(d) as loads:
        more_requests(loads, 50)
        assert d.stop(signal.SIGTERM) == 0
        more_requests(loads, 100)
        d.python = sys.executable
        d.start()
        assert_adopted(d, before)
        wait_for(lambda: "resumed with" in keeper_log(d), 30, "the keeper handed over")
        more_requests(loads, 100)
    assert failures(loads) == {}, f"requests failed across the upgrade: {failures(loads)}"
    assert d.keeper_pid() == keeper
    keeper_command = Path(f"/proc/{keeper}/cmdline").read_bytes().split(b"\0")
    assert keeper_command[0].decode() == sys.executable
    tick_now = max(ticks(d))
    wait_for(lambda: max(ticks(d)) > tick_now + 1, 30, "lines after the upgrade")
    assert_every_tick_once_in_order(d)


@pytest.fixture
def open_home() -> Iterator[Path]:
    """A TWELVE_HOME other users can traverse: the daemon runs each app as its own user."""
    with server_base("twelve-kp-", (APP,)) as base:
        yield base / "home"


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="per-app users need a root daemon and setpriv (util-linux)",
)
def test_in_the_isolated_mode_a_killed_daemons_apps_run_on_as_their_user_and_are_adopted(
    open_home: Path, make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    d = ticking_app(make_daemon, tmp_path, open_home)
    assert "each app runs as its own system user" in d.output()
    before = running(d)
    with steady_load(d) as loads:
        more_requests(loads, 50)
        assert d.stop(signal.SIGKILL) == -signal.SIGKILL
        more_requests(loads, 100)
        d.start()
        assert_adopted(d, before)
        more_requests(loads, 50)
    assert failures(loads) == {}, f"requests failed: {failures(loads)}"
    owner = Path(f"/proc/{before['clock.1']['pid']}/status").read_text()
    assert f"Uid:\t{pwd.getpwnam(f'tw-{APP}').pw_uid}\t" in owner
    tick_now = max(ticks(d))
    wait_for(lambda: max(ticks(d)) > tick_now + 1, 30, "lines after the adoption")
    assert_every_tick_once_in_order(d)
