"""One supervised process across its restarts: spawn, health gate, exit, backoff, stop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from twelve.logs.capture import capture_output
from twelve.supervisor import spawn
from twelve.supervisor.confine import Placement
from twelve.supervisor.environment import slug_environment
from twelve.supervisor.health import wait_until_bound, wait_until_http_ok
from twelve.supervisor.launch import launch_argv
from twelve.supervisor.limits import NO_LIMITS, Limits, ProcessCgroups
from twelve.supervisor.policy import Backoff
from twelve.supervisor.scratch import Scratch, make_scratch, remove_scratch
from twelve.supervisor.states import State, transition


@dataclass(frozen=True)
class ProcessSpec:
    """What to run: one named process of one release. Two equal specs run the same thing."""

    app: str
    name: str  # web.1
    command: str
    release: int
    slug_dir: str
    config: tuple[tuple[str, str], ...]
    commit: str | None
    health_path: str | None = None  # an HTTP path that must answer 2xx/3xx before traffic
    limits: Limits = NO_LIMITS  # of its process type (ps:limits)

    @property
    def type(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def is_web(self) -> bool:
        return self.type == "web"


@dataclass
class Hooks:
    """What a process tells the rest of the daemon; each callback is synchronous and quick."""

    on_line: Callable[[str, str, str], None]  # (app, process name, text) → app log line
    on_event: Callable[[str, str, str], None]  # (app, process name, text) → twelve log line
    on_state: Callable[[Supervised], None]  # state changed (route table, records)
    on_started: Callable[[Supervised], None]
    on_gone: Callable[[Supervised], None]
    allocate_port: Callable[[], int]
    release_port: Callable[[int | None], None]
    place: Callable[[ProcessSpec], Placement]  # its user and cgroups, made for each start
    drain: Callable[[int], Awaitable[None]]  # until the router has no request on this port


@dataclass
class Timing:
    boot_timeout: float
    stop_timeout: float
    drain_pause: float
    backoff: Backoff


@dataclass(eq=False)  # compared by identity: two slots with the same spec are different lives
class Supervised:
    """A process slot: restarted by the policy until it is stopped on purpose."""

    spec: ProcessSpec
    hooks: Hooks
    timing: Timing
    scratch_root: Path
    state: State = State.STARTING
    child: spawn.Child | None = None
    port: int | None = None
    scratch: Scratch | None = None
    cgroups: ProcessCgroups | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures: int = 0
    next_attempt: float | None = None  # wall-clock time of the next start when crashed
    last_exit: str | None = None
    last_lines: deque[str] = field(default_factory=lambda: deque(maxlen=20))
    first_health: asyncio.Future[bool] | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin the life loop; ``first_health`` resolves once the first attempt is up or failed."""
        self.first_health = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._life(), name=f"{self.spec.app}/{self.spec.name}")

    def _set_state(self, new: State) -> None:
        if new is self.state:
            return
        old, self.state = self.state, transition(self.state, new)
        self._event(f"State changed from {old.value} to {new.value}")
        self.hooks.on_state(self)

    def _event(self, text: str) -> None:
        self.hooks.on_event(self.spec.app, self.spec.name, text)

    async def _life(self) -> None:
        try:
            while not self._stop.is_set():
                await self._one_attempt()
                if self._stop.is_set():
                    break
                delay = self.timing.backoff.delay(self.failures)
                self.next_attempt = time.time() + delay
                if delay:
                    self._event(f"Restarting in {delay:.0f}s (attempt {self.failures})")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                if self._stop.is_set():
                    break
                self.restarts += 1
                self.next_attempt = None
                self._set_state(State.STARTING)
        finally:
            self._resolve_health(False)
            if self.state is not State.EXITED:
                # Stopped on purpose from any state: the end of this slot's life.
                self._event(f"State changed from {self.state.value} to exited")
                self.state = State.EXITED
                self.hooks.on_state(self)

    def _resolve_health(self, ok: bool) -> None:
        if self.first_health is not None and not self.first_health.done():
            self.first_health.set_result(ok)

    async def _one_attempt(self) -> None:
        spec = self.spec
        self.port = self.hooks.allocate_port() if spec.is_web else None
        placement = self.hooks.place(spec)
        self.cgroups = placement.cgroups
        identity = placement.confinement.identity
        self.scratch = await make_scratch(
            Path(spec.slug_dir) / "app", self.scratch_root, spec.name, identity
        )
        env = slug_environment(
            Path(spec.slug_dir),
            self.scratch.path,
            app=spec.app,
            dyno=spec.name,
            release=spec.release,
            config=dict(spec.config),
            commit=spec.commit,
            port=self.port,
        )
        self._event(f"Starting process with command `{spec.command}`")
        self.child = await spawn.start(
            launch_argv(spec.command, placement.confinement), cwd=self.scratch.path, env=env
        )
        self.started_at = time.monotonic()
        self.hooks.on_started(self)
        child = self.child
        assert child.process.stdout is not None
        reader = asyncio.create_task(capture_output(child.process.stdout, self._line))
        if spec.is_web and self.port is not None:
            deadline = time.monotonic() + self.timing.boot_timeout
            alive = lambda: child.process.returncode is None  # noqa: E731
            healthy = await wait_until_bound("127.0.0.1", self.port, deadline, alive)
            if healthy and spec.health_path:
                healthy = await wait_until_http_ok(
                    "127.0.0.1", self.port, spec.health_path, deadline, alive, self._event
                )
            if not healthy and child.process.returncode is None:
                self._event(
                    f"Error R10 (Boot timeout): web process did not become healthy within "
                    f"{self.timing.boot_timeout:.0f} seconds of launch"
                )
                await spawn.stop_group(child.pgid, self.timing.stop_timeout, child)
        else:
            healthy = True
        if healthy and not self._stop.is_set():
            self._set_state(State.UP)
        self._resolve_health(healthy)
        code = await spawn.wait_leader(child)
        uptime = time.monotonic() - self.started_at
        if not self._stop.is_set():
            # Exited on its own: out of the route table at once, then the group goes too.
            self.last_exit = spawn.describe_exit(code)
            self.failures = self.timing.backoff.failures_after_exit(self.failures, uptime)
            # Known as it crashes, so ``ps`` never shows a crash without its next attempt; the
            # life loop sets it again once the group is cleaned up and the wait begins.
            self.next_attempt = time.time() + self.timing.backoff.delay(self.failures)
            self._set_state(State.CRASHED)
            self._event(f"Process {self.last_exit}")
            if self.cgroups is not None and self.cgroups.oom_killed():
                limit = spec.limits.describe()
                self.last_exit += " (memory limit)"
                peak = self.cgroups.peak_memory()
                seen = f", peak {peak / (1 << 20):.1f}M" if peak else ""
                self._event(
                    f"Error R15 (Memory quota vastly exceeded): killed by the kernel for using "
                    f"more memory than its limit ({limit}{seen})"
                )
        await self._cleanup(child, reader)

    def _line(self, text: str) -> None:
        self.last_lines.append(text)
        self.hooks.on_line(self.spec.app, self.spec.name, text)

    async def _cleanup(self, child: spawn.Child, reader: asyncio.Task[None]) -> None:
        if spawn.group_alive(child.pgid):
            await spawn.stop_group(child.pgid, self.timing.stop_timeout)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, 5.0)
        self.hooks.on_gone(self)
        self.hooks.release_port(self.port)
        if self.cgroups is not None:
            self.cgroups.remove()
            self.cgroups = None
        if self.scratch is not None:
            await remove_scratch(self.scratch)
            self.scratch = None

    async def stop(self) -> None:
        """Take out of the route table, pause for the router, SIGTERM the group, SIGKILL later."""
        if self._stop.is_set():
            if self._task is not None:
                await asyncio.shield(self._task)
            return
        self._stop.set()
        child = self.child
        if child is not None and child.process.returncode is None:
            if self.state is State.UP and self.spec.is_web:
                self._set_state(State.DRAINING)
                self._event("Draining")
                if self.port is not None:
                    await self.hooks.drain(self.port)
            if self.state in {State.STARTING, State.UP, State.DRAINING}:
                self._set_state(State.STOPPING)
            self._event("Stopping all processes with SIGTERM")
            outcome = await spawn.stop_group(child.pgid, self.timing.stop_timeout, child)
            if outcome == "kill":
                self._event(
                    f"Error R12 (Exit timeout): not stopped within {self.timing.stop_timeout:.0f}s"
                    " of SIGTERM, sent SIGKILL"
                )
            code = child.process.returncode
            self._event(f"Process {spawn.describe_exit(code)}")
        if self._task is not None:
            await self._task
