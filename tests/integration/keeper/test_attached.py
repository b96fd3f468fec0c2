"""Attached one-offs through a real keeper: the keeper is their parent and reports their exit,
while their streams (a terminal, or three pipes) are handed to the daemon's side and never pass
through the keeper."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from twelve.keeper.client import KeeperClient, KeptChild
from twelve.supervisor.stdio import set_window

ENV = {"PATH": "/usr/bin:/bin"}


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    with contextlib.suppress(OSError, ValueError):
        os.kill(int((tmp_path / "keeper.pid").read_text()), signal.SIGKILL)


def client(run: Path) -> KeeperClient:
    def no_line(_c: KeptChild, _t: str, _s: datetime) -> None:
        raise AssertionError("an attached process's output reached the keeper's stream")

    return KeeperClient(run / "keeper.sock", 1 << 20, no_line, lambda _c, _n: None)


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # a terminal whose every user closed it reads EIO
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


async def _pipes(run: Path) -> None:
    keeper = client(run)
    await keeper.connect()
    script = "read line; echo got $line; echo oops >&2; cat > /dev/null; exit 5"
    child, fds = await keeper.spawn_attached(
        "a/run.1/1/x", ["/bin/sh", "-c", script], run, ENV, "pipes", (24, 80), {"oneoff": "x"}
    )
    stdin, stdout, stderr = fds
    os.write(stdin, b"hello\nmore input\n")
    os.close(stdin)  # the end of input: cat ends
    assert await asyncio.wait_for(child.wait(), 10) == 5
    assert await asyncio.to_thread(read_all, stdout) == b"got hello\n"
    assert await asyncio.to_thread(read_all, stderr) == b"oops\n"
    for fd in (stdout, stderr):
        os.close(fd)
    await keeper.shutdown()
    await keeper.close()


async def _terminal(run: Path) -> None:
    keeper = client(run)
    await keeper.connect()
    script = "test -t 0 && stty size; read answer; echo answer=$answer; exit 7"
    child, fds = await keeper.spawn_attached(
        "a/run.2/1/x", ["/bin/sh", "-c", script], run, ENV, "tty", (33, 111), {}
    )
    (master,) = fds
    set_window(master, 33, 111)
    os.write(master, b"yes\n")
    assert await asyncio.wait_for(child.wait(), 10) == 7
    text = await asyncio.to_thread(read_all, master)
    assert b"33 111" in text and b"answer=yes" in text
    os.close(master)
    await keeper.shutdown()
    await keeper.close()


def test_piped_streams_reach_the_caller_apart_and_the_keeper_reports_the_exit(run: Path) -> None:
    asyncio.run(_pipes(run))


def test_a_terminal_is_the_process_s_own_with_its_size(run: Path) -> None:
    asyncio.run(_terminal(run))
