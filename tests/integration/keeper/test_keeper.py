"""The keeper as the daemon meets it: a real keeper process, real children, a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from twelve.keeper.client import KeeperClient, KeptChild, keeper_argv

ENV = {"PATH": "/usr/bin:/bin"}
COUNTER = "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.05; done"


class Daemonish:
    """A daemon's side of the keeper: the lines it took in, per process key."""

    def __init__(self, socket_path: Path, buffer: int = 1 << 20) -> None:
        self.lines: dict[str, list[str]] = {}
        self.drops: dict[str, int] = {}
        self.client = KeeperClient(socket_path, buffer, self.on_line, self.on_drops)

    def on_line(self, child: KeptChild, text: str, _stamp: datetime) -> None:
        self.lines.setdefault(child.key, []).append(text)

    def on_drops(self, child: KeptChild, count: int) -> None:
        self.drops[child.key] = self.drops.get(child.key, 0) + count


async def until(predicate: object, timeout: float = 10.0) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def keeper_pid(run: Path) -> int:
    return int((run / "keeper.pid").read_text())


def rss_kib(pid: int) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Path]:
    """A run directory; the keeper started there is killed at the end, whatever happened."""
    yield tmp_path
    with contextlib.suppress(OSError, ValueError):
        os.kill(keeper_pid(tmp_path), signal.SIGKILL)


async def _lines_and_exits_reach_the_daemon_in_order(run: Path) -> None:
    daemon = Daemonish(run / "keeper.sock")
    assert await daemon.client.connect() == []
    script = "echo one; printf 'two\\nthree'; sleep 0.3; echo; exit 3"
    child = await daemon.client.spawn("a/web.1", ["/bin/sh", "-c", script], run, ENV)
    assert await child.wait() == 3
    await child.output_done(5)
    assert daemon.lines["a/web.1"] == ["one", "two", "three", ""]
    await daemon.client.shutdown()
    await daemon.client.close()


def test_the_keeper_serves_under_a_home_too_deep_for_a_unix_socket_path(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    assert len(str(deep / "keeper.sock")) > 107, "deeper than a Unix socket address holds"
    try:
        asyncio.run(_lines_and_exits_reach_the_daemon_in_order(deep))
    finally:
        with contextlib.suppress(OSError, ValueError):
            os.kill(keeper_pid(deep), signal.SIGKILL)


async def _a_new_daemon_gets_what_none_took_in_once_in_order(run: Path) -> None:
    first = Daemonish(run / "keeper.sock")
    await first.client.connect()
    child = await first.client.spawn("a/clock.1", ["/bin/sh", "-c", COUNTER], run, ENV)
    await until(lambda: len(first.lines.get("a/clock.1", [])) >= 5)
    await first.client.close()
    await asyncio.sleep(0.5)  # lines written while no daemon is there
    second = Daemonish(run / "keeper.sock")
    table = await second.client.connect()
    assert [(c.pid, c.key) for c in table] == [(child.pid, "a/clock.1")]
    await until(lambda: len(second.lines.get("a/clock.1", [])) >= 15)
    together = first.lines["a/clock.1"] + second.lines["a/clock.1"]
    assert together == [f"line {n}" for n in range(1, len(together) + 1)]
    os.killpg(child.pgid, signal.SIGTERM)
    adopted = second.client.children[child.cid]
    assert await adopted.wait() == -signal.SIGTERM
    await second.client.shutdown()
    await second.client.close()


async def _while_no_daemon_runs_output_is_never_blocked_and_drops_are_counted(
    run: Path,
) -> None:
    first = Daemonish(run / "keeper.sock", buffer=64 << 10)
    await first.client.connect()
    await first.client.close()
    # 4 MiB of output with no daemon to take it: the writer finishes, the oldest lines go.
    # One write per line (stdbuf -oL): a line cut across two writes far enough apart would be
    # emitted in two pieces, as a partial line is after a pause; a loaded machine makes such gaps.
    flood = "stdbuf -oL seq -f \"line %.0f $(printf '%080d' 0)\" 1 40000"
    second = Daemonish(run / "keeper.sock", buffer=64 << 10)
    await second.client.connect()
    child = await second.client.spawn("a/flood.1", ["/bin/sh", "-c", flood], run, ENV)
    await second.client.close()
    # A process that gets nothing read blocks; one that got SIGPIPE dies of it. This one exits 0.
    third = Daemonish(run / "keeper.sock", buffer=64 << 10)
    await until(lambda: not Path(f"/proc/{child.pid}/stat").exists() or _zombie(child.pid), 60)
    await third.client.connect()
    exited = third.client.children[child.cid]
    assert await asyncio.wait_for(exited.wait(), 10) == 0
    await exited.output_done(10)
    got = third.lines["a/flood.1"]
    assert got[-1].startswith("line 40000 ")
    # Every line is taken in or counted as dropped (a count may include lines a daemon took but
    # had not acknowledged when they were dropped); what comes is the newest, with no gap.
    first_kept = int(got[0].split()[1])
    assert got == [f"line {n} {0:080d}" for n in range(first_kept, 40001)]
    taken = len(second.lines.get("a/flood.1", [])) + len(got)
    assert 0 < 40000 - taken <= third.drops["a/flood.1"]
    await third.client.shutdown()
    await third.client.close()


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        return stat[stat.rindex(b")") + 2 :].split()[0] == b"Z"
    return True


async def _the_keeper_hands_over_to_its_successor_keeping_pid_children_and_lines(
    run: Path,
) -> None:
    daemon = Daemonish(run / "keeper.sock")
    await daemon.client.connect()
    keeper = keeper_pid(run)
    child = await daemon.client.spawn("a/clock.1", ["/bin/sh", "-c", COUNTER], run, ENV)
    await until(lambda: len(daemon.lines.get("a/clock.1", [])) >= 5)
    await daemon.client.upgrade(
        [sys.executable, "-m", "twelve.keeper", "--socket", str(run / "keeper.sock")]
    )
    seen = len(daemon.lines["a/clock.1"])
    await until(lambda: len(daemon.lines["a/clock.1"]) >= seen + 20)
    assert keeper_pid(run) == keeper
    assert "resumed with 1 processes" in (run / "keeper.log").read_text()
    got = daemon.lines["a/clock.1"]
    assert got == [f"line {n}" for n in range(1, len(got) + 1)]
    # The successor still reaps what its predecessor started.
    os.killpg(child.pgid, signal.SIGKILL)
    assert await asyncio.wait_for(child.wait(), 10) == -signal.SIGKILL
    # And it starts new processes.
    fresh = await daemon.client.spawn("a/once.1", ["/bin/sh", "-c", "echo hi"], run, ENV)
    assert await fresh.wait() == 0
    await daemon.client.shutdown()
    await daemon.client.close()


async def _the_keeper_stays_small_with_fifty_processes(run: Path) -> None:
    daemon = Daemonish(run / "keeper.sock")
    await daemon.client.connect()
    children = [
        await daemon.client.spawn(f"a/web.{n}", ["/bin/sh", "-c", COUNTER], run, ENV)
        for n in range(1, 51)
    ]
    await until(lambda: all(len(daemon.lines.get(c.key, [])) >= 10 for c in children), 30)
    rss = rss_kib(keeper_pid(run))
    print(f"keeper RSS with 50 processes: {rss / 1024:.1f} MiB")
    assert rss < 30 * 1024
    for child in children:
        os.killpg(child.pgid, signal.SIGKILL)
    await asyncio.gather(*(c.wait() for c in children))
    await daemon.client.shutdown()
    await daemon.client.close()


def test_lines_and_exits_reach_the_daemon_in_order(run: Path) -> None:
    asyncio.run(_lines_and_exits_reach_the_daemon_in_order(run))


def test_a_new_daemon_gets_what_none_took_in_once_in_order(run: Path) -> None:
    asyncio.run(_a_new_daemon_gets_what_none_took_in_once_in_order(run))


def test_while_no_daemon_runs_output_is_never_blocked_and_drops_are_counted(run: Path) -> None:
    asyncio.run(_while_no_daemon_runs_output_is_never_blocked_and_drops_are_counted(run))


def test_the_keeper_hands_over_to_its_successor_keeping_pid_children_and_lines(run: Path) -> None:
    asyncio.run(_the_keeper_hands_over_to_its_successor_keeping_pid_children_and_lines(run))


def test_the_keeper_stays_small_with_fifty_processes(run: Path) -> None:
    asyncio.run(_the_keeper_stays_small_with_fifty_processes(run))


async def _a_second_keeper_leaves_the_socket_to_the_one_serving(run: Path) -> None:
    daemon = Daemonish(run / "keeper.sock")
    await daemon.client.connect()
    child = await daemon.client.spawn("a/clock.1", ["/bin/sh", "-c", COUNTER], run, ENV)
    first = keeper_pid(run)
    second = await asyncio.create_subprocess_exec(
        *keeper_argv(run / "keeper.sock", 1 << 20), stderr=asyncio.subprocess.PIPE
    )
    _, errors = await asyncio.wait_for(second.communicate(), 30)
    assert second.returncode == 0 and b"a keeper already serves" in errors
    assert keeper_pid(run) == first
    await daemon.client.close()
    again = Daemonish(run / "keeper.sock")
    assert [c.pid for c in await again.client.connect()] == [child.pid]
    os.killpg(child.pgid, signal.SIGTERM)
    await again.client.children[child.cid].wait()
    await again.client.shutdown()
    await again.client.close()


def test_a_second_keeper_started_on_the_same_socket_leaves_it_and_its_processes_alone(
    run: Path,
) -> None:
    """Two keepers on one socket would leave the first one's processes out of every daemon's
    reach: a second start finds the first answering and exits."""
    asyncio.run(_a_second_keeper_leaves_the_socket_to_the_one_serving(run))
