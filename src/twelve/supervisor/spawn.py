"""The only place that starts or signals processes.

Every child runs in a new session, so it leads its own process group; stopping signals the whole
group (grandchildren included), ignores "already gone", and escalates SIGTERM to SIGKILL after the
grace period. Output (stdout and stderr merged, to keep their order) is read by the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from twelve.logs.capture import capture_output
from twelve.supervisor.stdio import Stdio, take_terminal


class Running(Protocol):
    """A process twelve started and follows: started here (Child) or held by the keeper."""

    @property
    def pid(self) -> int: ...

    @property
    def pgid(self) -> int: ...

    @property
    def start_ticks(self) -> int: ...

    @property
    def returncode(self) -> int | None:
        """The exit code once the leader exited (None while it runs)."""
        ...

    async def wait(self) -> int | None:
        """Until the group's leader exits; its exit code (None when it cannot be known)."""
        ...

    async def output_done(self, timeout: float) -> None:
        """Until its output is read to the end, at most ``timeout`` seconds."""
        ...


@dataclass
class Child:
    """A started process: its asyncio handle, its group and when the kernel says it started."""

    process: asyncio.subprocess.Process
    pgid: int
    start_ticks: int
    reader: asyncio.Task[None] | None = None  # reading its output, when someone does

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    async def wait(self) -> int | None:
        return await wait_leader(self)

    async def output_done(self, timeout: float) -> None:
        if self.reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.reader), timeout)


async def start(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin: int | None = asyncio.subprocess.DEVNULL,
    stdout: int = asyncio.subprocess.PIPE,
    separate_stderr: bool = False,
) -> Child:
    """Start ``argv`` in its own session with stdout and stderr on one pipe (or two; or stderr
    alone on a pipe, and stdout where ``stdout`` says)."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=dict(env),
        stdin=stdin,
        stdout=stdout,
        stderr=asyncio.subprocess.PIPE if separate_stderr else asyncio.subprocess.STDOUT,
        start_new_session=True,
        limit=1 << 20,
    )
    return Child(process, process.pid, start_ticks(process.pid) or 0)


async def start_attached(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], stdio: Stdio
) -> Child:
    """Start ``argv`` in its own session on ``stdio``'s child ends (closed here once it runs);
    with a terminal, that terminal becomes its controlling one."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=stdio.child[0],
            stdout=stdio.child[1],
            stderr=stdio.child[2],
            start_new_session=True,
            preexec_fn=take_terminal if stdio.tty else None,
        )
    finally:
        stdio.close_child()
    return Child(process, process.pid, start_ticks(process.pid) or 0)


async def wait_leader(child: Child) -> int:
    """Wait until the group's leader exits; its return code.

    ``Process.wait()`` on Python 3.11 also waits for the output pipe to close, which a grandchild
    that outlives the leader keeps open; a pidfd tells the moment the leader itself is gone.
    """
    process = child.process
    if process.returncode is not None:
        return process.returncode
    loop = asyncio.get_running_loop()
    try:
        fd = os.pidfd_open(child.pid)
    except OSError:
        return await process.wait()
    gone: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not gone.done():
            gone.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await gone
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    # The child watcher reaps the leader and records its code right after.
    delay = 0.001
    while process.returncode is None:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)
    return process.returncode


def shell_command(command: str) -> list[str]:
    """A Procfile command runs as ``/bin/sh -c COMMAND``, as on Heroku."""
    return ["/bin/sh", "-c", command]


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to a process group; False when it is already gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, from /proc; None when it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    fields = data[data.rindex(b")") + 2 :].split()
    return int(fields[19])


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is in group ``pgid``."""
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                data = Path(entry.path, "stat").read_bytes()
            except OSError:
                continue
            fields = data[data.rindex(b")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != b"Z":
                return True
    return False


def is_same_process(pid: int, ticks: int) -> bool:
    """True when ``pid`` is still the process that started at ``ticks`` (not a reused PID)."""
    return start_ticks(pid) == ticks


async def wait_group_gone(pgid: int, timeout: float) -> bool:
    """Poll until group ``pgid`` has no live process, up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while group_alive(pgid):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.2)
    return True


async def stop_group(pgid: int, grace: float, leader: Running | None = None) -> str:
    """SIGTERM the group, SIGKILL it after ``grace``; returns ``"term"`` or ``"kill"``.

    When the leader is ours, it is reaped too, so no zombie stays behind.
    """
    signal_group(pgid, signal.SIGTERM)
    outcome = "term"
    if not await wait_group_gone(pgid, grace):
        signal_group(pgid, signal.SIGKILL)
        outcome = "kill"
        await wait_group_gone(pgid, 5.0)
    if leader is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(leader.wait(), 5.0)
    return outcome


async def run_to_completion(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    on_line: Callable[[str], None],
    timeout: float | None = None,
    grace: float = 5.0,
) -> int | None:
    """Run a command, passing each output line to ``on_line``; its exit code, None on timeout.

    On timeout the whole group is stopped. A negative code means the process died of that signal.
    """
    child = await start(argv, cwd=cwd, env=env)
    assert child.process.stdout is not None
    reader = asyncio.ensure_future(capture_output(child.process.stdout, on_line))
    try:
        code = await asyncio.wait_for(wait_leader(child), timeout)
    except TimeoutError:
        await stop_group(child.pgid, grace, child)
        await reader
        return None
    except asyncio.CancelledError:
        await stop_group(child.pgid, grace, child)
        reader.cancel()
        raise
    # The leader is gone; anything it left in its group goes too, so no step leaks processes.
    if group_alive(child.pgid):
        await stop_group(child.pgid, grace)
    await reader
    return code


def describe_exit(code: int | None) -> str:
    """``exited with code 1`` / ``killed by SIGKILL`` for a returncode."""
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exited with code {code}"


def run_in_terminal(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> int:
    """Run ``argv`` attached to this terminal (stdin, stdout, a TTY), for interactive commands.

    The child stays in the terminal's foreground process group, so Ctrl-C reaches it as it would
    in a shell; this process lets SIGINT pass meanwhile and returns the child's exit code. (A
    handler, not SIG_IGN: an ignored signal would stay ignored in the child after exec.)
    """
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: None)
    try:
        process = subprocess.Popen(list(argv), cwd=cwd, env=dict(env))
        code = process.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    return code if code >= 0 else 128 - code
