"""The supervisor: keeps each app's formation of the live release running, and rolls out new ones.

Rollouts start the new processes next to the old, wait until every new web process is healthy,
switch the route table in one step, and only then stop the old ones. When a new process never comes
up, the new ones are stopped and the old ones keep serving.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Any

from twelve.errors import DeployError, NotFound
from twelve.store import ProcessRecord, Store
from twelve.supervisor import spawn
from twelve.supervisor.clock import SYSTEM_CLOCK, Clock
from twelve.supervisor.confine import Confiner
from twelve.supervisor.launcher import Launcher, LocalLauncher
from twelve.supervisor.oneoffs import OneOffs
from twelve.supervisor.ports import PortPool
from twelve.supervisor.process import Adoption, Hooks, LineSink, ProcessSpec, Supervised, Timing
from twelve.supervisor.rollout import goes_live, plan_rollout
from twelve.supervisor.scratch import remove_scratch
from twelve.supervisor.states import State
from twelve.values import Backend

# The process states a ``dyno`` webhook event is sent for.
_NOTIFIED = frozenset({State.UP, State.CRASHED})


class Supervisor:
    """Owns every app process; API handlers reach processes only through it."""

    def __init__(
        self,
        store: Store,
        scratch_dir: Path,
        timing: Timing,
        on_line: LineSink,
        on_event: Callable[[str, str, str], None],
        on_routes_changed: Callable[[], None],
        confiner: Confiner | None = None,
        drain: Callable[[int], Awaitable[None]] | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        launcher: Launcher | None = None,
    ) -> None:
        self.store = store
        self.confiner = confiner or Confiner.off()
        self.scratch_dir = scratch_dir
        self.timing = timing
        self.clock = clock
        self.ports = PortPool()
        self._on_routes_changed = on_routes_changed
        # (app, resource, action, data) → the app's webhooks (Platform.notify once composed).
        self.notify: Callable[[str, str, str, dict[str, Any]], None] = lambda *_: None
        self._current: dict[str, dict[str, Supervised]] = {}
        self._retiring: set[Supervised] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        # Processes of an earlier daemon, by (app, process name), until their slot takes them.
        self._adoptable: dict[tuple[str, str, int], Adoption] = {}
        self.hooks = Hooks(
            on_line=on_line,
            on_event=on_event,
            on_state=self._state_changed,
            on_started=self._started,
            on_gone=self._gone,
            allocate_port=self.ports.allocate,
            release_port=self.ports.release,
            place=lambda spec: self.confiner.place(spec.app, spec.name, spec.limits),
            drain=drain or (lambda _port: asyncio.sleep(timing.drain_pause)),
            launcher=launcher or LocalLauncher(),
        )
        self.oneoffs = OneOffs(
            store,
            scratch_dir,
            self.confiner,
            self.hooks.launcher,
            on_line,
            on_event,
            timing.stop_timeout,
        )

    # Hooks from processes
    def _state_changed(self, proc: Supervised) -> None:
        if proc.spec.is_web and self._is_current(proc):
            self._on_routes_changed()
        if proc.state in _NOTIFIED:
            self.notify(
                proc.spec.app,
                "dyno",
                "update",
                {"name": proc.spec.name, "state": proc.state.value, "release": proc.spec.release},
            )

    def _started(self, proc: Supervised) -> None:
        assert proc.child is not None
        self.store.processes.record(
            ProcessRecord(
                proc.spec.app,
                proc.spec.name,
                proc.child.pid,
                proc.child.pgid,
                proc.child.start_ticks,
                proc.port,
                proc.spec.release,
                str(proc.scratch.root) if proc.scratch else None,
            )
        )

    def _gone(self, proc: Supervised) -> None:
        if proc.child is not None:
            self.store.processes.forget(proc.spec.app, proc.spec.name, proc.child.pid)

    def _is_current(self, proc: Supervised) -> bool:
        return self._current.get(proc.spec.app, {}).get(proc.spec.name) is proc

    def routes_changed(self) -> None:
        """Something the route table is built from changed (a domain): write it anew."""
        self._on_routes_changed()

    # Queries
    def backends(self) -> dict[str, list[Backend]]:
        """Healthy web processes of the live release of every app: the route table's backends."""
        table: dict[str, list[Backend]] = {}
        for app, procs in self._current.items():
            table[app] = [
                Backend(p.spec.name, p.port)
                for p in sorted(procs.values(), key=lambda p: _order(p.spec.name))
                if p.spec.is_web and p.state is State.UP and p.port is not None
            ]
        return table

    def current(self) -> dict[str, list[Supervised]]:
        """Every app's processes of its live formation (the ones retiring left out)."""
        return {app: list(procs.values()) for app, procs in self._current.items()}

    def processes(self, app: str) -> list[Supervised]:
        procs = list(self._current.get(app, {}).values())
        procs += [p for p in self._retiring if p.spec.app == app]
        return sorted(procs, key=lambda p: (_order(p.spec.name), p.spec.release))

    # Changes
    def _new(self, spec: ProcessSpec) -> Supervised:
        scratch = self.scratch_dir / spec.app
        scratch.mkdir(parents=True, exist_ok=True)
        proc = Supervised(spec, self.hooks, self.timing, scratch, self.clock)
        adoption = self._adoptable.pop((spec.app, spec.name, spec.release), None)
        if adoption is not None:
            proc.adopt(adoption)
        else:
            proc.start()
        return proc

    def offer(self, app: str, name: str, adoption: Adoption) -> None:
        """A process an earlier daemon started: the slot of its app, name and release adopts it."""
        self._adoptable[(app, name, adoption.release)] = adoption
        if adoption.port is not None:
            self.ports.hold(adoption.port)

    async def end_unclaimed(self) -> int:
        """Stop the offered processes no slot adopted (their app or formation changed)."""
        unclaimed = list(self._adoptable.items())
        self._adoptable.clear()

        async def end(app: str, name: str, adoption: Adoption) -> None:
            running = adoption.running
            await spawn.stop_group(running.pgid, self.timing.stop_timeout, running)
            await running.output_done(5.0)
            self.store.processes.forget(app, name, running.pid)
            self.ports.release(adoption.port)
            if adoption.cgroups is not None:
                adoption.cgroups.remove()
            if adoption.scratch is not None:
                await remove_scratch(adoption.scratch)

        await asyncio.gather(*(end(app, name, a) for (app, name, _), a in unclaimed))
        return len(unclaimed)

    def let_go(self) -> None:
        """Stop following every process and leave them running, for the next daemon to adopt."""
        for procs in self._current.values():
            for proc in procs.values():
                proc.let_go()
        self._current.clear()

    async def apply(
        self,
        app: str,
        specs: list[ProcessSpec],
        replace: Collection[str] = (),
        *,
        gate: bool = True,
    ) -> None:
        """Make ``specs`` the running formation of ``app``, health-gated, without a gap.

        Processes whose spec is unchanged keep running; the rest are replaced. Raises DeployError
        (having stopped the new processes, the old ones untouched) when a new web process fails.
        Without ``gate`` (bringing a formation back after a daemon restart, when nothing else
        runs) the new processes stay and the restart policy keeps trying.
        """
        current = self._current.setdefault(app, {})
        wanted = {s.name: s for s in specs}
        rollout = plan_rollout({n: p.spec for n, p in current.items()}, specs, replace)
        starting = {name: self._new(wanted[name]) for name in rollout.start}
        results = await asyncio.gather(
            *(_first_health(p) for p in starting.values() if p.spec.is_web)
        )
        if not goes_live(gate, results):
            failed = [p for p in starting.values() if p.spec.is_web and not _healthy_now(p)]
            lines = list(failed[0].last_lines) if failed else []
            await asyncio.gather(*(p.stop() for p in starting.values()))
            detail = f": {lines[-1]}" if lines else ""
            raise DeployError(
                f"new web processes did not become healthy{detail}",
                "the previous release keeps serving; see the app's logs",
            ) from None
        retiring = [current.pop(name) for name in rollout.retire]
        current.update(starting)
        self._on_routes_changed()
        # The new release is live once the route table switched: the old processes drain and
        # stop in the background, and the caller (a deploy) is answered now.
        self._retiring.update(retiring)
        for proc in retiring:
            task = asyncio.create_task(self._retire(proc))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def retired(self, app: str, timeout: float) -> bool:
        """Wait until the processes ``app`` replaced or stopped are gone; whether they are."""
        deadline = asyncio.get_running_loop().time() + timeout
        while any(p.spec.app == app for p in self._retiring):
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def _retire(self, proc: Supervised) -> None:
        try:
            await proc.stop()
        finally:
            self._retiring.discard(proc)

    async def restart(self, app: str, process: str | None = None) -> None:
        """Replace running processes (all, a type, or one name) with fresh ones, health-gated."""
        current = self._current.get(app, {})
        chosen = {
            name for name, p in current.items() if process is None or process in {name, p.spec.type}
        }
        if process is not None and not chosen:
            raise NotFound(f"no running process {process!r}", "see 'twelve ps'")
        await self.apply(app, [p.spec for p in current.values()], replace=chosen)

    async def stop_app(self, app: str) -> None:
        procs = list(self._current.pop(app, {}).values())
        procs += [p for p in self._retiring if p.spec.app == app]
        self._on_routes_changed()
        oneoffs = self.oneoffs.of_app(app)
        await asyncio.gather(
            *(p.stop() for p in procs),
            *(self.oneoffs.stop(o, "the app was destroyed") for o in oneoffs),
        )
        await asyncio.gather(*(asyncio.shield(o.finished) for o in oneoffs))

    async def stop_all(self) -> None:
        apps = list(self._current)
        retiring = list(self._retiring)
        await asyncio.gather(
            *(self.stop_app(a) for a in apps),
            *(p.stop() for p in retiring),
            self.oneoffs.stop_all(),
        )

    async def end_previous_life(self, keep: Collection[int] = ()) -> int:
        """End every process a previous daemon started (checked by PID and start time), but
        those in ``keep`` (pids to adopt)."""
        records = [r for r in self.store.processes.all() if r.pid not in keep]
        stops = []
        for record in records:
            if spawn.is_same_process(record.pid, record.start_ticks):
                if record.port:
                    self.ports.hold(record.port)
                stops.append(spawn.stop_group(record.pgid, self.timing.stop_timeout))
            self.store.processes.forget(record.app, record.name, record.pid)
        await asyncio.gather(*stops)
        for record in records:
            self.ports.release(record.port)
        return len(stops)


async def _first_health(proc: Supervised) -> bool:
    assert proc.first_health is not None
    return await proc.first_health


def _healthy_now(proc: Supervised) -> bool:
    return proc.first_health is not None and proc.first_health.done() and proc.first_health.result()


def _order(name: str) -> tuple[str, int]:
    kind, _, number = name.partition(".")
    return kind, int(number) if number.isdigit() else 0


def uptime(proc: Supervised) -> float:
    return proc.clock.monotonic() - proc.started_at if proc.started_at else 0.0
