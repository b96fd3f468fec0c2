"""One-off processes of an app's release: attached (``twelve run``), detached (``run --detached``)
and scheduled (``scheduler.N``), as ``ps`` shows them and ``ps:stop`` ends them.

They are launched as every process is (the launcher: the keeper under the daemon), in the app's
user, cgroups (the web type's limits) and a private copy of the app directory. An attached one-off's
streams (a terminal or three pipes) are handed to its caller; a detached one's output goes to the
app's log. A detached one outlives the daemon and is adopted by the next; an attached one cannot
outlive its connection, so a new daemon ends it and says so in its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from twelve.store import Release, Store
from twelve.supervisor import spawn
from twelve.supervisor.confine import Confiner
from twelve.supervisor.environment import slug_environment
from twelve.supervisor.launch import exec_simple, launch_argv
from twelve.supervisor.launcher import Launcher
from twelve.supervisor.limits import ProcessCgroups
from twelve.supervisor.process import adoption_meta, from_meta
from twelve.supervisor.scratch import Scratch, make_scratch, remove_scratch
from twelve.values import NO_LIMITS

log = logging.getLogger(__name__)
ATTACHED, DETACHED, SCHEDULED = "attached", "detached", "scheduler"

LineSink = Callable[[str, str, str, datetime | None], None]  # app, process, text, when
EventSink = Callable[[str, str, str], None]  # app, process, text


class Held(spawn.Running, Protocol):
    """A process an earlier daemon started, as the keeper still holds it."""

    @property
    def key(self) -> str: ...

    @property
    def meta(self) -> dict[str, Any]: ...

    @property
    def running(self) -> bool: ...


@dataclass(eq=False)
class OneOff:
    app: str
    name: str
    kind: str  # ATTACHED, DETACHED or SCHEDULED
    command: str
    release: int
    key: str
    running: spawn.Running
    started_at: float  # wall clock
    scratch: Scratch | None
    cgroups: ProcessCgroups | None
    meta: dict[str, Any]
    fds: list[int] = field(default_factory=list)  # an attached one's streams, the caller's ends
    finished: asyncio.Future[int | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    ended_by: str | None = None  # why twelve stopped it, when it did

    @property
    def pid(self) -> int:
        return self.running.pid


class OneOffs:
    """Every one-off running now, per app; starts, stops and adopts them."""

    def __init__(
        self,
        store: Store,
        scratch_dir: Path,
        confiner: Confiner,
        launcher: Launcher,
        on_line: LineSink,
        on_event: EventSink,
        stop_timeout: float,
    ) -> None:
        self.store = store
        self.scratch_dir = scratch_dir
        self.confiner = confiner
        self.launcher = launcher
        self.on_line = on_line
        self.on_event = on_event
        self.stop_timeout = stop_timeout
        self._running: dict[tuple[str, str], OneOff] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- queries -------------------------------------------------------------------------------

    def of_app(self, app: str) -> list[OneOff]:
        return sorted(
            (o for (a, _), o in self._running.items() if a == app), key=lambda o: o.started_at
        )

    def get(self, app: str, name: str) -> OneOff | None:
        return self._running.get((app, name))

    def next_name(self, app: str, kind: str) -> str:
        prefix = "scheduler" if kind == SCHEDULED else "run"
        return f"{prefix}.{self.store.apps.next_counter(app)}"

    # -- starting ------------------------------------------------------------------------------

    async def start(
        self,
        release: Release,
        command: str,
        name: str,
        kind: str,
        *,
        stdio: str | None = None,
        size: tuple[int, int] = (24, 80),
        timeout: float | None = None,
        extra: dict[str, Any] | None = None,
        also: Callable[[str], None] | None = None,
        term: str | None = None,
        env_extra: dict[str, str] | None = None,
    ) -> OneOff:
        """Start ``command`` as ``name`` in ``release``'s exact environment.

        ``stdio`` ("tty" or "pipes") makes it attached: the caller gets its streams in ``fds``
        and closes them. ``timeout`` ends it with SIGTERM, then SIGKILL. ``also`` gets each line
        of a one-off that is not attached, besides the app's log.
        """
        if release.slug_dir is None:
            raise ValueError("a release without a build cannot run processes")
        app = release.app
        slug = Path(release.slug_dir)
        limits = self.store.limits.get(app).get("web", NO_LIMITS)
        placement = self.confiner.place(app, name, limits)
        parent = self.scratch_dir / app
        parent.mkdir(parents=True, exist_ok=True)
        scratch = await make_scratch(slug / "app", parent, name, placement.confinement.identity)
        env = slug_environment(
            slug,
            scratch.path,
            app=app,
            dyno=name,
            release=release.version,
            config=release.config,
            commit=release.commit,
            port=None,
        )
        env.update(env_extra or {})  # run --env: over the release's config, for this run only
        if stdio == "tty":  # the caller's terminal type, so colours and full-screen programs work
            env.setdefault("TERM", term or "xterm-256color")
        key = f"{app}/{name}/{release.version}/{secrets.token_hex(4)}"
        meta = adoption_meta(release.version, None, scratch, placement.cgroups) | {
            "oneoff": kind,
            "command": command,
            "started_at": time.time(),
            "timeout": timeout,
            **(extra or {}),
        }
        argv = launch_argv(exec_simple(command), placement.confinement)
        fds: list[int] = []
        try:
            if stdio is not None:
                running, fds = await self.launcher.launch_attached(
                    key, argv, scratch.path, env, stdio, size, meta
                )
            else:
                running = await self.launcher.launch(
                    key, argv, scratch.path, env, self._line_sink(app, name, also), meta=meta
                )
        except BaseException:
            await remove_scratch(scratch)
            if placement.cgroups is not None:
                placement.cgroups.remove()
            raise
        oneoff = OneOff(
            app, name, kind, command, release.version, key, running, meta["started_at"],
            scratch, placement.cgroups, meta, fds,
        )  # fmt: skip
        self._follow(oneoff, timeout)
        return oneoff

    def _line_sink(
        self, app: str, name: str, also: Callable[[str], None] | None = None
    ) -> Callable[[str, datetime | None], None]:
        def sink(text: str, stamp: datetime | None) -> None:
            self.on_line(app, name, text, stamp)
            if also is not None:
                also(text)

        return sink

    def _follow(self, oneoff: OneOff, timeout: float | None) -> None:
        self._running[(oneoff.app, oneoff.name)] = oneoff
        task = asyncio.create_task(self._watch(oneoff, timeout), name=f"one-off {oneoff.key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self, oneoff: OneOff, timeout: float | None) -> None:
        code: int | None = None
        try:
            remaining = None
            if timeout is not None:
                remaining = max(0.0, oneoff.started_at + timeout - time.time())
            try:
                code = await asyncio.wait_for(oneoff.running.wait(), remaining)
            except TimeoutError:
                self.on_event(
                    oneoff.app, oneoff.name, f"Stopping: it ran longer than its {timeout:g}s"
                )
                await self.stop(oneoff, f"its timeout of {timeout:g}s passed")
                code = oneoff.running.returncode
            if oneoff.kind != ATTACHED:  # an attached one's output never passes through the keeper
                await oneoff.running.output_done(5.0)
            if spawn.group_alive(oneoff.running.pgid):  # what it left behind goes with it
                await spawn.stop_group(oneoff.running.pgid, self.stop_timeout)
        finally:
            self._running.pop((oneoff.app, oneoff.name), None)
            with contextlib.suppress(OSError):
                if oneoff.cgroups is not None:
                    oneoff.cgroups.remove()
            if oneoff.scratch is not None:
                await remove_scratch(oneoff.scratch)
            if not oneoff.finished.done():
                oneoff.finished.set_result(code)
        self.on_event(oneoff.app, oneoff.name, f"Process {spawn.describe_exit(code)}")

    # -- stopping ------------------------------------------------------------------------------

    async def stop(self, oneoff: OneOff, reason: str) -> None:
        """SIGTERM its process group, SIGKILL after the stop timeout."""
        if oneoff.ended_by is None:
            oneoff.ended_by = reason
        if oneoff.running.returncode is None:
            await spawn.stop_group(oneoff.running.pgid, self.stop_timeout, oneoff.running)

    def stop_later(self, oneoff: OneOff, grace: float, reason: str) -> None:
        """Stop it after ``grace`` seconds unless it ends by then (its connection dropped)."""

        async def later() -> None:
            try:
                await asyncio.wait_for(asyncio.shield(oneoff.finished), grace)
            except TimeoutError:
                self.on_event(oneoff.app, oneoff.name, f"Stopping: {reason}")
                await self.stop(oneoff, reason)

        task = asyncio.create_task(later(), name=f"grace of {oneoff.key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def end_attached(self, reason: str) -> None:
        """The daemon stops: no attached one-off can keep its connection."""
        attached = [o for o in self._running.values() if o.kind == ATTACHED]
        for oneoff in attached:
            self.on_event(oneoff.app, oneoff.name, f"Stopping: {reason}")
        await asyncio.gather(*(self.stop(o, reason) for o in attached))
        await asyncio.gather(*(asyncio.shield(o.finished) for o in attached))

    async def stop_all(self) -> None:
        everyone = list(self._running.values())
        await asyncio.gather(*(self.stop(o, "the platform stopped") for o in everyone))
        await asyncio.gather(*(asyncio.shield(o.finished) for o in everyone))

    # -- an earlier daemon's -------------------------------------------------------------------

    async def adopt(
        self, child: Held, follow: Callable[[Callable[[str, datetime | None], None]], None]
    ) -> OneOff | None:
        """A one-off the keeper still holds: a detached or scheduled one is followed again; an
        attached one lost its connection with the daemon before, so it is ended."""
        app, name = child.key.split("/")[:2]
        release, _port, scratch, cgroups = from_meta(child.meta)
        oneoff = OneOff(
            app, name, str(child.meta["oneoff"]), str(child.meta.get("command", "")), release,
            child.key, child, float(child.meta.get("started_at") or time.time()), scratch,
            cgroups, dict(child.meta),
        )  # fmt: skip
        follow(self._line_sink(app, name))
        timeout = child.meta.get("timeout")
        self._follow(oneoff, float(timeout) if timeout else None)
        if oneoff.kind == ATTACHED:
            reason = "its connection was lost when the daemon stopped"
            if child.running:
                self.on_event(app, name, f"Stopping: {reason}")
                await self.stop(oneoff, reason)
            else:  # its terminal or pipes closed with the daemon, and it ended of that
                self.on_event(app, name, f"Ended: {reason}")
        return oneoff


def close_streams(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
