"""One process the keeper started: its pipe, its pidfd, its exit. The keeper's only I/O on it."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twelve.logs.capture import READ_SIZE, LineSplitter
from twelve.supervisor.stdio import Stdio, take_terminal

FLUSH_PARTIAL_AFTER = 0.2


@dataclass
class Kept:
    cid: int
    key: str
    pid: int
    pgid: int
    ticks: int
    raw: bool  # lines passed on as bytes (the router's), not decoded and split
    meta: dict[str, Any]
    fd: int | None  # the read end of its output; None after EOF
    code: int | None = None
    reaped: bool = False
    pending: bytearray = field(default_factory=bytearray)  # raw mode's partial line
    splitter: LineSplitter = field(default_factory=LineSplitter)
    timer: asyncio.TimerHandle | None = None
    pidfd: int | None = None
    popen: subprocess.Popen[bytes] | None = None

    def state(self) -> dict[str, Any]:
        """What the next keeper program needs to carry on with this process."""
        partial = bytes(self.pending if self.raw else self.splitter.pending)
        return {
            "cid": self.cid,
            "key": self.key,
            "pid": self.pid,
            "pgid": self.pgid,
            "ticks": self.ticks,
            "raw": self.raw,
            "meta": self.meta,
            "fd": self.fd,
            "code": self.code,
            "reaped": self.reaped,
            "partial": partial.decode("latin-1"),
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Kept:
        kept = cls(
            data["cid"],
            data["key"],
            data["pid"],
            data["pgid"],
            data["ticks"],
            data["raw"],
            data["meta"],
            data["fd"],
            data["code"],
            data["reaped"],
        )
        partial = data["partial"].encode("latin-1")
        if kept.raw:
            kept.pending += partial
        else:
            kept.splitter.pending += partial
        return kept

    def summary(self) -> dict[str, Any]:
        return {
            "cid": self.cid,
            "key": self.key,
            "pid": self.pid,
            "pgid": self.pgid,
            "ticks": self.ticks,
            "meta": self.meta,
            "code": self.code if self.reaped else None,
            "exited": self.reaped,
        }


def watch(
    kept: Kept,
    loop: asyncio.AbstractEventLoop,
    on_output: Callable[[Kept, list[str] | list[bytes]], None],
    on_eof: Callable[[Kept], None],
    on_exit: Callable[[Kept], None],
) -> None:
    """Read ``kept``'s pipe as it is written and reap it when it exits."""
    if kept.fd is not None:
        os.set_blocking(kept.fd, False)
        loop.add_reader(kept.fd, _readable, kept, loop, on_output, on_eof)
    if not kept.reaped:
        try:
            kept.pidfd = os.pidfd_open(kept.pid)
        except ProcessLookupError:  # gone and reaped by someone else: no code to tell
            kept.reaped = True
            on_exit(kept)
            return
        loop.add_reader(kept.pidfd, _reap, kept, loop, on_exit)


def unwatch(kept: Kept, loop: asyncio.AbstractEventLoop) -> None:
    """Stop watching (before an upgrade): the pipe and the process stay."""
    if kept.fd is not None:
        loop.remove_reader(kept.fd)
    if kept.timer is not None:
        kept.timer.cancel()
        kept.timer = None
    if kept.pidfd is not None:
        loop.remove_reader(kept.pidfd)
        os.close(kept.pidfd)
        kept.pidfd = None


def _readable(
    kept: Kept,
    loop: asyncio.AbstractEventLoop,
    on_output: Callable[[Kept, list[str] | list[bytes]], None],
    on_eof: Callable[[Kept], None],
) -> None:
    assert kept.fd is not None
    try:
        chunk = os.read(kept.fd, READ_SIZE)
    except BlockingIOError:
        return
    except OSError:
        chunk = b""
    if not chunk:
        loop.remove_reader(kept.fd)
        os.close(kept.fd)
        kept.fd = None
        _flush_partial(kept, on_output)
        on_eof(kept)
        return
    if kept.raw:
        lines = (bytes(kept.pending) + chunk if kept.pending else chunk).split(b"\n")
        kept.pending[:] = lines.pop()
        if len(kept.pending) > READ_SIZE:
            lines.append(bytes(kept.pending))
            kept.pending.clear()
        if lines:
            on_output(kept, lines)
        return
    messages = kept.splitter.feed(chunk)
    if messages:
        on_output(kept, messages)
    if not kept.splitter.pending and kept.timer is not None:
        kept.timer.cancel()
        kept.timer = None
    elif kept.splitter.pending and kept.timer is None:
        kept.timer = loop.call_later(FLUSH_PARTIAL_AFTER, _flush_partial, kept, on_output)


def _flush_partial(kept: Kept, on_output: Callable[[Kept, list[str] | list[bytes]], None]) -> None:
    kept.timer = None
    if kept.raw:
        if kept.pending:
            on_output(kept, [bytes(kept.pending)])
            kept.pending.clear()
        return
    messages = kept.splitter.flush()
    if messages:
        on_output(kept, messages)


def _reap(kept: Kept, loop: asyncio.AbstractEventLoop, on_exit: Callable[[Kept], None]) -> None:
    try:
        pid, status = os.waitpid(kept.pid, os.WNOHANG)
    except ChildProcessError:
        pid, status = kept.pid, -1
    if pid == 0:
        return
    assert kept.pidfd is not None
    loop.remove_reader(kept.pidfd)
    os.close(kept.pidfd)
    kept.pidfd = None
    kept.code = os.waitstatus_to_exitcode(status) if status >= 0 else None
    kept.reaped = True
    if kept.popen is not None:
        kept.popen.returncode = kept.code if kept.code is not None else -1
    on_exit(kept)


def start(
    cid: int,
    key: str,
    argv: list[str],
    cwd: str,
    env: dict[str, str],
    raw: bool,
    stdio: Stdio | None = None,
) -> Kept:
    """Start ``argv`` in a session of its own, stdout and stderr on one pipe the keeper reads.

    With ``stdio`` (an attached one-off) the process gets those streams instead, and nothing
    of its output passes through the keeper.
    """
    if stdio is not None:
        return _start_attached(cid, key, argv, cwd, env, stdio)
    read_fd, write_fd = os.pipe()
    try:
        popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=write_fd,
            stderr=write_fd,
            start_new_session=True,
            close_fds=True,
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    os.set_inheritable(read_fd, False)
    kept = Kept(cid, key, popen.pid, popen.pid, start_ticks(popen.pid), raw, {}, read_fd)
    kept.popen = popen
    return kept


def _start_attached(
    cid: int, key: str, argv: list[str], cwd: str, env: dict[str, str], stdio: Stdio
) -> Kept:
    try:
        popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=stdio.child[0],
            stdout=stdio.child[1],
            stderr=stdio.child[2],
            start_new_session=True,
            close_fds=True,
            preexec_fn=take_terminal if stdio.tty else None,  # noqa: PLW1509 (no threads here)
        )
    finally:
        stdio.close_child()
    kept = Kept(cid, key, popen.pid, popen.pid, start_ticks(popen.pid), False, {}, None)
    kept.popen = popen
    return kept


def start_ticks(pid: int) -> int:
    """The process's start time in clock ticks since boot (0 when it is already gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return 0
    return int(data[data.rindex(b")") + 2 :].split()[19])
