"""The router as the daemon runs it: a process group started (or adopted), fed SIGHUP when the
route table changes, restarted with the servers' backoff; its output read as access lines and
events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from twelve.logs.capture import stamp_clock
from twelve.logs.hub import LogHub
from twelve.logs.line import LogLine, make_line
from twelve.router.accesslog import split_access_line
from twelve.settings import Settings, twelve_executable
from twelve.store import ProcessRecord
from twelve.store.processes import ProcessStore
from twelve.supervisor import spawn
from twelve.supervisor.launcher import Launcher, LocalLauncher
from twelve.supervisor.policy import SERVER_BACKOFF, Restarts
from twelve.supervisor.restart import keep_running

if TYPE_CHECKING:
    from twelve.metrics.recorder import Recorder

log = logging.getLogger("twelve")
ROUTER_RECORD = ("-twelve-", "router")
ROUTER_KEY = "-twelve-/router"


class RouterProcess:
    """The router as a child process group: started, fed SIGHUP on table changes, restarted."""

    def __init__(
        self,
        settings: Settings,
        records: ProcessStore,
        hub: LogHub,
        launcher: Launcher | None = None,
        note: Callable[[spawn.Running, dict[str, str]], None] | None = None,
        metrics: Recorder | None = None,
    ) -> None:
        self.settings = settings
        self.records = records
        self.hub = hub
        self.launcher = launcher or LocalLauncher()
        self.note = note  # tells the keeper the router's addresses, for a later daemon
        self.metrics = metrics  # takes each worker's request counts since its last report
        self.child: spawn.Running | None = None
        self._adopted: spawn.Running | None = None
        self.address: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.tls_address: str | None = None  # announced before ``listening`` when HTTPS is on
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Per router worker: the table version it runs and retired ports it still has requests on.
        self._workers: dict[int, tuple[int, frozenset[int]]] = {}
        self._drain_changed = asyncio.Event()
        self._stamp = stamp_clock()

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in self.settings.environ.items() if k != "TWELVE_API_TOKEN"}
        env.update({"TWELVE_HOME": str(self.settings.home), "PATH": os.environ.get("PATH", "")})
        return env

    def start(self) -> None:
        self._task = asyncio.create_task(self._life(), name="router")

    def adopt(self, child: spawn.Running, meta: dict[str, str]) -> None:
        """Follow a router an earlier daemon started instead of starting one."""
        self._adopted = child
        self.tls_address = meta.get("tls_address")
        self.address.set_result(meta["address"])
        self.start()

    def output(self, text: str, _stamp: datetime | None) -> None:
        self.handle_line(text.encode("utf-8", "surrogateescape"))

    async def _life(self) -> None:
        await keep_running(
            self._run_once, Restarts(SERVER_BACKOFF), lambda: self._stopping, self._exited
        )

    async def _run_once(self) -> int | None:
        self._workers.clear()
        if self._adopted is not None:
            self.child, self._adopted = self._adopted, None
        else:
            self.child = await self.launcher.launch(
                ROUTER_KEY,
                [*twelve_executable()[:1], "-m", "twelve.router"],
                self.settings.home,
                self.environment(),
                self.output,
                raw=True,
            )
        self.records.record(
            ProcessRecord(
                *ROUTER_RECORD,
                self.child.pid,
                self.child.pgid,
                self.child.start_ticks,
                None,
                0,
                None,
            )
        )
        code = await self.child.wait()
        await self.child.output_done(5.0)
        self.records.forget(*ROUTER_RECORD, self.child.pid)
        return code

    def _exited(self, code: int | None, delay: float) -> bool:
        log.warning("router %s; restarting in %.1fs", spawn.describe_exit(code), delay)
        return True

    def handle_line(self, raw: bytes) -> None:
        """One line of the router's stdout: an access line for an app's stream, or an event."""
        access = split_access_line(raw)  # nearly every line: read without a JSON parser
        if access is not None:
            app, line = access
            self.hub.publish(app, LogLine(self._stamp(), "router", "router", line))
            return
        try:
            event = json.loads(raw)
        except ValueError:
            log.info("router: %s", raw.decode(errors="replace").rstrip())
            return
        if not isinstance(event, dict):
            return
        if event.get("event") == "listening" and not self.address.done():
            self.address.set_result(str(event["address"]))
            if self.note is not None and self.child is not None:
                where = {"address": str(event["address"])}
                self.note(
                    self.child,
                    where | ({"tls_address": self.tls_address} if self.tls_address else {}),
                )
        elif event.get("event") == "listening_tls":
            self.tls_address = str(event["address"])
        elif event.get("event") == "metrics":
            if self.metrics is not None and isinstance(event.get("tallies"), list):
                self.metrics.add_tallies(event["tallies"])
        elif event.get("event") == "drain":
            busy = frozenset(int(p) for p in event.get("busy", []))
            self._workers[int(event["pid"])] = (int(event.get("version", 0)), busy)
            self._drain_changed.set()
        elif isinstance(event.get("app"), str) and "line" in event:
            self.hub.publish(event["app"], make_line("router", "router", str(event["line"])))
        elif "line" in event or "message" in event:
            log.info("router: %s", event.get("line") or event.get("message"))

    async def wait_drained(self, port: int, version: int, timeout: float) -> bool:
        """Until every worker runs table ``version`` (or newer) and has no request on ``port``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            workers = list(self._workers.values())
            if all(v >= version and port not in busy for v, busy in workers):
                return True
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            self._drain_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drain_changed.wait(), remaining)

    def reload(self) -> None:
        if self.child is not None and self.child.returncode is None:
            spawn.signal_group(self.child.pgid, signal.SIGHUP)

    async def stop(self, grace: float) -> None:
        self._stopping = True
        if self.child is not None:
            await spawn.stop_group(self.child.pgid, grace, self.child)
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def let_go(self) -> None:
        """Stop following the router and leave it serving, for the next daemon to adopt."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
