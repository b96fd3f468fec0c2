"""The foreground loop of ``twelve local``: start every process, print their lines, stop them all.

It uses the server's own pieces: spawn (own session and process group, SIGTERM then SIGKILL to the
group), capture (lines, invalid UTF-8, partial lines) and the restart policy. Signal handlers only
record; the loop acts.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from twelve.local.output import SYSTEM, LineFormat
from twelve.local.plan import LocalProcess
from twelve.logs.capture import capture_output
from twelve.supervisor import spawn
from twelve.supervisor.policy import Backoff


@dataclass
class Options:
    app_dir: Path
    timeout: float = 5.0
    restart: bool = False


class LocalRun:
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
        self.children: dict[str, spawn.Child] = {}
        self.stopping = asyncio.Event()
        self.exit_code = 0
        self.index = {p.name: i for i, p in enumerate(processes)}

    def say(self, name: str, text: str) -> None:
        self.write(self.fmt.render(name, text, self.index.get(name, 0), datetime.now()))

    def _printer(self, name: str) -> Callable[[str], None]:
        def emit(text: str) -> None:
            self.say(name, text)

        return emit

    def _signal(self, signum: int) -> None:
        if not self.stopping.is_set():
            self.say(SYSTEM, f"{signal.Signals(signum).name} received, stopping all processes")
            self.stopping.set()

    async def _life(self, process: LocalProcess) -> None:
        backoff = Backoff(cap=300, reset_after=60)
        failures = 0
        while not self.stopping.is_set():
            child = await spawn.start(
                spawn.shell_command(process.command), cwd=self.options.app_dir, env=process.env
            )
            self.children[process.name] = child
            started = time.monotonic()
            self.say(SYSTEM, f"{process.name} started with pid {child.pid} (port {process.port})")
            assert child.process.stdout is not None
            reader = asyncio.create_task(
                capture_output(child.process.stdout, self._printer(process.name))
            )
            code = await spawn.wait_leader(child)
            if spawn.group_alive(child.pgid):
                await spawn.stop_group(child.pgid, self.options.timeout)
            await reader
            self.say(SYSTEM, f"{process.name} {spawn.describe_exit(code)}")
            if self.stopping.is_set():
                return
            if not self.options.restart:
                # As Foreman and Honcho do: one process ending ends the run, with its code.
                self.exit_code = code if code >= 0 else 128 - code
                self.stopping.set()
                return
            failures = backoff.failures_after_exit(failures, time.monotonic() - started)
            delay = backoff.delay(failures)
            if delay:
                self.say(SYSTEM, f"restarting {process.name} in {delay:.0f}s")
                try:
                    await asyncio.wait_for(self.stopping.wait(), delay)
                    return
                except TimeoutError:
                    pass

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._signal, signum)
        try:
            lives = [asyncio.create_task(self._life(p)) for p in self.processes]
            await self.stopping.wait()
            await asyncio.gather(
                *(
                    spawn.stop_group(c.pgid, self.options.timeout, c)
                    for c in self.children.values()
                    if c.process.returncode is None or spawn.group_alive(c.pgid)
                )
            )
            await asyncio.gather(*lives)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
        return self.exit_code
