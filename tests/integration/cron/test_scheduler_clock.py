"""The scheduler on a clock the test sets: a job every minute runs once per tick, through the
one-off path (real processes of a real release), across a deploy and a restarted scheduler."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from twelve.cli.archive import pack_directory
from twelve.compose import Graph, compose
from twelve.cron.scheduler import Scheduler
from twelve.deploy import Source
from twelve.settings import Settings
from twelve.store.cron import CronStore

APP = "cr-clock"


class FakeClock:
    """Wall time that moves only when the test says."""

    def __init__(self, now: float) -> None:
        self._now = now
        self._moved = asyncio.Event()

    def now(self) -> float:
        return self._now

    def set(self, when: float) -> None:
        self._now = when
        self._moved.set()
        self._moved = asyncio.Event()

    async def sleep_until(self, when: float, wake: asyncio.Event) -> None:
        while self._now < when and not wake.is_set():
            moved = asyncio.ensure_future(self._moved.wait())
            woken = asyncio.ensure_future(wake.wait())
            await asyncio.wait({moved, woken}, return_when=asyncio.FIRST_COMPLETED)
            moved.cancel()
            woken.cancel()


def at(minute: int, second: float = 0) -> float:
    return datetime(2026, 3, 1, 8, minute, tzinfo=UTC).timestamp() + second


async def until(predicate: object, timeout: float = 20) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def app_source(base: Path, marker: str) -> Path:
    source = base / f"src-{marker}"
    source.mkdir()
    (source / "Procfile").write_text("worker: sleep 1000\n")
    job = {"name": "ping", "command": f"echo {marker} $DYNO >> $OUT", "schedule": "* * * * *"}
    (source / "app.json").write_text(json.dumps({"cron": [job]}))
    return source


async def deploy(graph: Graph, source: Path) -> None:
    archive = pack_directory(source)
    await graph.deployer.deploy(APP, Source(tarball=archive.data), lambda _line: None)


async def scenario(home: Path, base: Path) -> None:
    clock = FakeClock(at(0, 30))
    settings = Settings.from_environ({"TWELVE_HOME": str(home)})
    graph = compose(settings, "token", path="", cron_clock=clock)
    out = base / "ticks.txt"
    try:
        graph.store.create_app(APP)
        await graph.deployer.set_config(APP, {"OUT": str(out)})
        await deploy(graph, app_source(base, "v-one"))
        runs = CronStore(graph.store)
        loop = asyncio.create_task(graph.scheduler.run())

        def finished() -> list[str]:
            return [r.process or "" for r in runs.runs(APP) if r.state == "finished"]

        def lines() -> list[str]:
            return out.read_text().splitlines() if out.exists() else []

        await until(lambda: runs.seen(APP, "ping") == at(0, 30))
        for minute in (1, 2, 3):
            clock.set(at(minute))
            await until(lambda m=minute: len(finished()) == m and len(lines()) == m)
        # Nothing runs between ticks, however often the clock moves.
        for second in (10, 20, 59):
            clock.set(at(3, second))
        await asyncio.sleep(0.3)
        assert len(lines()) == 3
        # A deploy between ticks: the next tick runs the new release's command, once.
        await deploy(graph, app_source(base, "v-two"))
        clock.set(at(4))
        await until(lambda: len(lines()) == 4 and len(finished()) == 4)
        assert lines()[-1].startswith("v-two scheduler.")
        # A restarted scheduler (a new daemon) neither runs a claimed tick again nor skips one.
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        again = Scheduler(graph.store, graph.supervisor.oneoffs, clock, lambda *_a: None)
        loop = asyncio.create_task(again.run())
        await asyncio.sleep(0.3)
        assert len(lines()) == 4
        clock.set(at(5, 2))  # two seconds late: still on time
        await until(lambda: len(lines()) == 5 and len(finished()) == 5)
        ticks = sorted(r.tick or 0 for r in runs.runs(APP))
        assert ticks == [at(m) for m in (1, 2, 3, 4, 5)]
        assert [line.split()[0] for line in lines()] == ["v-one"] * 3 + ["v-two"] * 2
        assert len(set(finished())) == 5  # each tick its own scheduler.N
        assert [(r.exit_code, r.release) for r in runs.runs(APP)] == [(0, 2)] * 2 + [(0, 1)] * 3
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    finally:
        await graph.supervisor.stop_all()
        graph.store.close()


def test_a_job_every_minute_runs_once_per_tick_on_the_clock_it_is_given(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    asyncio.run(scenario(home, tmp_path))
