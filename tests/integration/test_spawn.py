"""Spawning and signalling real process groups."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from twelve.supervisor import spawn

ENV = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}


def test_stop_ends_grandchildren_too(tmp_path: Path) -> None:
    """SIGTERM goes to the whole group: a shell's background children stop with it."""

    async def scenario() -> None:
        child = await spawn.start(
            ["/bin/sh", "-c", "sleep 300 & sleep 300 & wait"], cwd=tmp_path, env=ENV
        )
        await asyncio.sleep(0.2)
        assert spawn.group_alive(child.pgid)
        assert await spawn.stop_group(child.pgid, 5.0, child) == "term"
        assert not spawn.group_alive(child.pgid)

    asyncio.run(scenario())


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        " print('ready', flush=True); time.sleep(60)"
    )

    async def scenario() -> None:
        child = await spawn.start([sys.executable, "-c", script], cwd=tmp_path, env=ENV)
        assert child.process.stdout is not None
        assert await child.process.stdout.readline() == b"ready\n"
        assert await spawn.stop_group(child.pgid, 0.5, child) == "kill"
        assert child.process.returncode == -signal.SIGKILL

    asyncio.run(scenario())


def test_run_to_completion_passes_lines_and_the_exit_code(tmp_path: Path) -> None:
    lines: list[str] = []

    async def scenario() -> int | None:
        return await spawn.run_to_completion(
            ["/bin/sh", "-c", "echo one; echo two >&2; exit 4"],
            cwd=tmp_path,
            env=ENV,
            on_line=lines.append,
        )

    assert asyncio.run(scenario()) == 4
    assert lines == ["one", "two"]


def test_run_to_completion_stops_the_group_on_timeout(tmp_path: Path) -> None:
    async def scenario() -> int | None:
        return await spawn.run_to_completion(
            ["/bin/sh", "-c", "echo started; sleep 60"],
            cwd=tmp_path,
            env=ENV,
            on_line=print,
            timeout=0.5,
            grace=1,
        )

    assert asyncio.run(scenario()) is None


def test_a_reused_pid_is_not_taken_for_the_process_that_had_it() -> None:
    ticks = spawn.start_ticks(os.getpid())
    assert ticks is not None
    assert spawn.is_same_process(os.getpid(), ticks)
    assert not spawn.is_same_process(os.getpid(), ticks + 1)
    assert (
        spawn.describe_exit(-9) == "killed by SIGKILL"
        and spawn.describe_exit(3) == "exited with code 3"
    )
