"""One supervised process across its restarts: the I/O of the decisions ``lifecycle`` makes.

Each slot runs one loop: it takes the next event (an exit, a health result, a timer, a stop),
asks its ``Lifecycle`` what to do, and does it. Spawning, health checks, signals and clean-up
happen here; what to do and when is decided there, with a clock.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from twelve.supervisor import lifecycle as lc
from twelve.supervisor import spawn
from twelve.supervisor.clock import SYSTEM_CLOCK, Clock
from twelve.supervisor.confine import Placement
from twelve.supervisor.environment import slug_environment
from twelve.supervisor.health import wait_until_bound, wait_until_http_ok
from twelve.supervisor.launch import launch_argv
from twelve.supervisor.launcher import Launcher, LocalLauncher, OnOutput
from twelve.supervisor.limits import ProcessCgroups
from twelve.supervisor.policy import Backoff
from twelve.supervisor.scratch import Scratch, make_scratch, remove_scratch
from twelve.supervisor.states import State, transition
from twelve.values import NO_LIMITS, Limits


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


class LineSink(Protocol):
    def __call__(self, app: str, process: str, text: str, stamp: datetime | None = None) -> None:
        """One line of an app process's output (``stamp``: when it was read, if known)."""
        ...


@dataclass(frozen=True)
class Adoption:
    """A process an earlier daemon started that still runs (held by the keeper)."""

    running: spawn.Running
    release: int
    port: int | None
    scratch: Scratch | None
    cgroups: ProcessCgroups | None
    age: float  # seconds since it started
    attach: Callable[[OnOutput], None]  # follow its output from now on


@dataclass
class Hooks:
    """What a process tells the rest of the daemon; each callback is synchronous and quick."""

    on_line: LineSink  # (app, process name, text, stamp) → app log line
    on_event: Callable[[str, str, str], None]  # (app, process name, text) → twelve log line
    on_state: Callable[[Supervised], None]  # state changed (route table, records)
    on_started: Callable[[Supervised], None]
    on_gone: Callable[[Supervised], None]
    allocate_port: Callable[[], int]
    release_port: Callable[[int | None], None]
    place: Callable[[ProcessSpec], Placement]  # its user and cgroups, made for each start
    drain: Callable[[int], Awaitable[None]]  # until the router has no request on this port
    launcher: Launcher = field(default_factory=LocalLauncher)


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
    clock: Clock = SYSTEM_CLOCK
    state: State = State.STARTING
    child: spawn.Running | None = None
    port: int | None = None
    scratch: Scratch | None = None
    cgroups: ProcessCgroups | None = None
    last_lines: deque[str] = field(default_factory=lambda: deque(maxlen=20))
    first_health: asyncio.Future[bool] | None = None
    life: lc.Lifecycle = field(init=False)
    _events: asyncio.Queue[lc.Event] = field(default_factory=asyncio.Queue)
    _task: asyncio.Task[None] | None = None
    _helpers: set[asyncio.Task[None]] = field(default_factory=set)
    _timers: list[asyncio.TimerHandle] = field(default_factory=list)
    _let_go: bool = False

    def __post_init__(self) -> None:
        policy = lc.Policy(self.timing.boot_timeout, self.timing.stop_timeout, self.timing.backoff)
        self.life = lc.Lifecycle(self.spec.command, self.spec.is_web, policy, self.clock)

    # What ``ps`` shows, as the decisions keep it.
    @property
    def started_at(self) -> float:
        return self.life.started_at

    @property
    def restarts(self) -> int:
        return self.life.restarts

    @property
    def failures(self) -> int:
        return self.life.failures

    @property
    def next_attempt(self) -> float | None:
        return self.life.next_attempt

    @property
    def last_exit(self) -> str | None:
        return self.life.last_exit

    def start(self) -> None:
        """Begin the life loop; ``first_health`` resolves once the first attempt is up or failed."""
        self.first_health = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(
            self._run(self.life.begin()), name=f"{self.spec.app}/{self.spec.name}"
        )

    def adopt(self, adoption: Adoption) -> None:
        """Follow a running process of this slot's spec instead of starting one."""
        self.first_health = asyncio.get_running_loop().create_future()
        self.child = adoption.running
        self.port, self.scratch, self.cgroups = adoption.port, adoption.scratch, adoption.cgroups
        adoption.attach(self._output)
        self._helper(self._watch_exit(adoption.running))
        self._task = asyncio.create_task(
            self._run(self.life.adopt(adoption.age)), name=f"{self.spec.app}/{self.spec.name}"
        )

    def let_go(self) -> None:
        """Stop following the process and leave it running (the daemon stops, the keeper stays)."""
        self._let_go = True
        if self._task is not None:
            self._task.cancel()

    def post(self, event: lc.Event) -> None:
        self._events.put_nowait(event)

    async def _run(self, actions: list[lc.Action]) -> None:
        try:
            while True:
                for action in actions:
                    await self._do(action)
                if self.life.finished:
                    return
                actions = self.life.on(await self._events.get())
        finally:
            for timer in self._timers:
                timer.cancel()
            for helper in list(self._helpers):
                helper.cancel()
            self._resolve_health(False)
            if self.state is not State.EXITED and not self._let_go:
                self._enter(State.EXITED)  # ended by an error: the slot's life is over too

    async def _do(self, action: lc.Action) -> None:
        if isinstance(action, lc.Enter):
            self._enter(action.state)
        elif isinstance(action, lc.Say):
            self._event(action.text)
        elif isinstance(action, lc.Spawn):
            await self._spawn()
            self.post(lc.Spawned())
        elif isinstance(action, lc.WatchHealth):
            self._helper(self._watch_health(action.deadline))
        elif isinstance(action, lc.Abandon):
            if self.child is not None:  # before its health is answered, as the deploy waits
                await spawn.stop_group(self.child.pgid, self.timing.stop_timeout, self.child)
        elif isinstance(action, lc.ResolveHealth):
            self._resolve_health(action.ok)
        elif isinstance(action, lc.Drain):
            self._helper(self._drain())
        elif isinstance(action, lc.Signal):
            self._signal(action.signum)
        elif isinstance(action, lc.SetTimer):
            event = lc.TimerFired(action.purpose)
            self._timers.append(
                asyncio.get_running_loop().call_later(action.delay, self.post, event)
            )
        elif isinstance(action, lc.Cleanup):
            await self._cleanup()
            self.post(lc.CleanedUp())

    def _helper(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)

    def _enter(self, new: State) -> None:
        if new is self.state:
            return
        old = self.state
        # Stopped on purpose from any state: the end of this slot's life.
        self.state = new if new is State.EXITED else transition(old, new)
        self._event(f"State changed from {old.value} to {new.value}")
        self.hooks.on_state(self)

    def _event(self, text: str) -> None:
        self.hooks.on_event(self.spec.app, self.spec.name, text)

    def _resolve_health(self, ok: bool) -> None:
        if self.first_health is not None and not self.first_health.done():
            self.first_health.set_result(ok)

    async def _spawn(self) -> None:
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
            limits=spec.limits,
        )
        key = f"{spec.app}/{spec.name}/{spec.release}/{secrets.token_hex(4)}"
        self.child = await self.hooks.launcher.launch(
            key,
            launch_argv(spec.command, placement.confinement),
            self.scratch.path,
            env,
            self._output,
            meta=adoption_meta(spec.release, self.port, self.scratch, self.cgroups),
        )
        self.hooks.on_started(self)
        self._helper(self._watch_exit(self.child))

    async def _watch_exit(self, child: spawn.Running) -> None:
        code = await child.wait()
        limit = peak = None
        if self.cgroups is not None and self.cgroups.oom_killed():
            limit = self.spec.limits.describe()
            peak = self.cgroups.peak_memory()
        self.post(lc.Exited(code, limit, peak))

    async def _watch_health(self, deadline: float) -> None:
        child, port = self.child, self.port
        assert child is not None and port is not None
        alive = lambda: child.returncode is None  # noqa: E731
        # The checks poll on the machine's clock; the deadline is the decisions'.
        until = time.monotonic() + (deadline - self.clock.monotonic())
        healthy = await wait_until_bound("127.0.0.1", port, until, alive)
        if healthy and self.spec.health_path:
            healthy = await wait_until_http_ok(
                "127.0.0.1", port, self.spec.health_path, until, alive, self._event
            )
        self.post(lc.HealthResult(healthy))

    async def _drain(self) -> None:
        if self.port is not None:
            await self.hooks.drain(self.port)
        self.post(lc.Drained())

    def _signal(self, signum: int) -> None:
        child = self.child
        if child is None:
            return
        spawn.signal_group(child.pgid, signum)
        if not any(t.get_name() == "group" for t in self._helpers):
            task = asyncio.create_task(self._watch_group(child.pgid), name="group")
            self._helpers.add(task)
            task.add_done_callback(self._helpers.discard)

    async def _watch_group(self, pgid: int) -> None:
        while not await spawn.wait_group_gone(pgid, 3600.0):
            pass
        self.post(lc.GroupGone())

    def _output(self, text: str, stamp: datetime | None) -> None:
        self.last_lines.append(text)
        self.hooks.on_line(self.spec.app, self.spec.name, text, stamp)

    async def _cleanup(self) -> None:
        child = self.child
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if child is not None and spawn.group_alive(child.pgid):
            # The leader is gone but left processes in its group: they go too.
            await spawn.stop_group(child.pgid, self.timing.stop_timeout)
        if child is not None:
            await child.output_done(5.0)
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
        self.post(lc.StopWanted())
        if self._task is not None:
            await asyncio.shield(self._task)


def adoption_meta(
    release: int, port: int | None, scratch: Scratch | None, cgroups: ProcessCgroups | None
) -> dict[str, Any]:
    """What the keeper keeps beside a process, so a later daemon can adopt it."""
    return {
        "release": release,
        "port": port,
        "scratch": [str(scratch.root), str(scratch.path), scratch.mounted] if scratch else None,
        "cgroups": [[str(d) for d in cgroups.dirs], cgroups.version] if cgroups else None,
    }


def from_meta(
    meta: dict[str, Any],
) -> tuple[int, int | None, Scratch | None, ProcessCgroups | None]:
    """``adoption_meta``'s facts back: release, port, scratch directory, cgroups."""
    scratch = meta.get("scratch")
    cgroups = meta.get("cgroups")
    return (
        int(meta.get("release") or 0),
        meta.get("port"),
        Scratch(Path(scratch[0]), Path(scratch[1]), bool(scratch[2])) if scratch else None,
        ProcessCgroups(tuple(Path(d) for d in cgroups[0]), int(cgroups[1])) if cgroups else None,
    )
