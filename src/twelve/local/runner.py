"""The foreground loop of ``twelve local``: start every process, print their lines, stop them all.

It is built from the server's own parts: ``supervisor.spawn`` (own session and process group,
SIGTERM then SIGKILL to the whole group), ``logs.capture`` (lines, invalid UTF-8, partial lines)
and ``supervisor.restart`` (the restart loop every server of twelve uses). Signal handlers only
record the signal; the loop acts on it. Each process's life watches one ``stopping`` event, so a
stop can never miss a process that was starting at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from twelve.local.output import SYSTEM, LineFormat
from twelve.local.plan import LocalProcess
from twelve.logs.capture import capture_output
from twelve.supervisor import spawn
from twelve.supervisor.policy import Backoff, Restarts
from twelve.supervisor.restart import keep_running

# SIGHUP too: a closed terminal must not leave the app running in sessions of its own.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class Options:
    """How a run behaves: where processes run, the SIGTERM→SIGKILL grace, restarts."""

    app_dir: Path
    timeout: float = 5.0
    restart: bool = False
    backoff: Backoff = field(default_factory=Backoff)


def exit_status(code: int) -> int:
    """A return code as a shell reports it: 128+N for a process killed by signal N."""
    return code if code >= 0 else 128 - code


class LocalRun:
    """One ``twelve local`` run of ``processes``, writing formatted lines through ``write``."""

    def __init__(
        self,
        processes: list[LocalProcess],
        options: Options,
        fmt: LineFormat,
        write: Callable[[str], None],
    ) -> None:
        self.processes = processes
        self.options = options
        self.fmt = fmt
        self.write = write
        self.index = {p.name: i for i, p in enumerate(processes)}
        self.children: dict[str, spawn.Child] = {}
        self.stopping = asyncio.Event()
        self.exit_code: int | None = None
        self.received: list[int] = []  # appended by signal handlers, consumed by the loop
        self.wake = asyncio.Event()
        self.output_closed = False

    def say(self, name: str, text: str) -> None:
        """Print one line of ``name`` (a process, or the platform)."""
        if self.output_closed:
            return
        try:
            self.write(self.fmt.render(name, text, self.index.get(name, 0), datetime.now()))
        except BrokenPipeError:
            # Whoever read our output is gone (``twelve local | head``): stop, as a shell would.
            self.output_closed = True
            self._finish(141)

    @property
    def _grace(self) -> str:
        return f"{self.options.timeout:g}s"

    def _printer(self, name: str) -> Callable[[str], None]:
        def emit(text: str) -> None:
            self.say(name, text)

        return emit

    def _record(self, signum: int) -> None:
        """The signal handler: record, wake the loop, nothing more."""
        self.received.append(signum)
        self.wake.set()

    def _finish(self, code: int) -> None:
        """Stop everything; the first reason to stop decides the exit code."""
        if self.exit_code is None:
            self.exit_code = code
        self.stopping.set()

    async def run(self) -> int:
        """Run until one process exits (or a signal arrives); the exit code to leave with."""
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self._record, signum)
        lives = [asyncio.create_task(self._life(p)) for p in self.processes]
        handled = 0
        try:
            while not all(life.done() for life in lives):
                waker = asyncio.create_task(self.wake.wait())
                await asyncio.wait(
                    [*(life for life in lives if not life.done()), waker],
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waker.cancel()
                self.wake.clear()
                if any(life.done() and life.exception() for life in lives):
                    self._finish(1)  # an unexpected failure stops the others, then surfaces
                while handled < len(self.received):
                    self._on_signal(self.received[handled])
                    handled += 1
            for life in lives:
                life.result()  # a life that failed fails the run, loudly
        finally:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
            for life in lives:
                life.cancel()
        return self.exit_code or 0

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if not self.stopping.is_set():
            self.say(
                SYSTEM, f"{name} received, stopping all processes (SIGKILL after {self._grace})"
            )
            self._finish(128 + signum)
            return
        # A second Ctrl-C: the user will not wait for the grace period.
        self.say(SYSTEM, f"{name} received again, killing all processes")
        for child in list(self.children.values()):
            spawn.signal_group(child.pgid, signal.SIGKILL)

    async def _life(self, process: LocalProcess) -> None:
        """Run ``process`` until the run stops, restarting it with the backoff if asked."""

        def exited(code: int, delay: float) -> bool:
            if not self.options.restart:
                # As Foreman and Honcho do: one process ending ends the run, with its code.
                if len(self.processes) > 1:
                    self.say(SYSTEM, f"stopping the other processes (SIGKILL after {self._grace})")
                self._finish(exit_status(code))
                return False
            self.say(SYSTEM, f"restarting {process.name} in {delay:g}s")
            return True

        async def wait(delay: float) -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), delay)

        await keep_running(
            lambda: self._once(process),
            Restarts(self.options.backoff),
            self.stopping.is_set,
            exited,
            wait=wait,
        )

    async def _once(self, process: LocalProcess) -> int:
        """Start ``process`` once and follow it to its end; its return code."""
        child = await spawn.start(
            spawn.shell_command(process.command), cwd=self.options.app_dir, env=process.env
        )
        self.children[process.name] = child
        self.say(SYSTEM, f"{process.name} started with pid {child.pid} on port {process.port}")
        assert child.process.stdout is not None
        reader = asyncio.create_task(
            capture_output(child.process.stdout, self._printer(process.name))
        )
        leader = asyncio.create_task(spawn.wait_leader(child))
        stop = asyncio.create_task(self.stopping.wait())
        try:
            await asyncio.wait([leader, stop], return_when=asyncio.FIRST_COMPLETED)
            if not leader.done():
                outcome = await spawn.stop_group(child.pgid, self.options.timeout, child)
                if outcome == "kill":
                    self.say(SYSTEM, f"{process.name} did not stop within {self._grace}: SIGKILL")
            code = await leader
            if spawn.group_alive(child.pgid):
                # The leader is gone but left processes in its group; they go too.
                await spawn.stop_group(child.pgid, self.options.timeout)
            await reader
        finally:
            stop.cancel()
            self.children.pop(process.name, None)
            if not reader.done():  # cancelled midway: leave nothing of it running
                leader.cancel()
                reader.cancel()
                spawn.signal_group(child.pgid, signal.SIGKILL)
        self.say(SYSTEM, f"{process.name} {spawn.describe_exit(code)}")
        return code
