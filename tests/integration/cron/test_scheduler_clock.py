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
from twelve.releases import Source
from twelve.settings import Settings

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
        graph.store.apps.create(APP)
        await graph.deployer.set_config(APP, {"OUT": str(out)})
        await deploy(graph, app_source(base, "v-one"))
        runs = graph.store.cron
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


async def downtime_and_overlap(home: Path, base: Path) -> None:
    clock = FakeClock(at(0, 30))
    settings = Settings.from_environ({"TWELVE_HOME": str(home)})
    graph = compose(settings, "token", path="", cron_clock=clock)
    source = base / "src-slow"
    source.mkdir()
    (source / "Procfile").write_text("worker: sleep 1000\n")
    jobs = [
        {"name": "slow", "command": "sleep 30", "schedule": "* * * * *"},
        # Ticks caught up together overlap: "allow" lets each start without waiting.
        {"name": "quick", "command": "true", "schedule": "* * * * *", "concurrency": "allow"},
    ]
    (source / "app.json").write_text(json.dumps({"cron": jobs}))
    runs = graph.store.cron
    try:
        graph.store.apps.create(APP)
        await deploy(graph, source)
        first = Scheduler(graph.store, graph.supervisor.oneoffs, clock, lambda *_a: None)
        loop = asyncio.create_task(first.run())
        await until(lambda: runs.seen(APP, "slow") is not None)
        clock.set(at(1))
        await until(lambda: [r.state for r in runs.runs(APP, job="slow")] == ["running"])
        await until(lambda: [r.state for r in runs.runs(APP, job="quick")] == ["finished"])
        # Its next tick comes while it still runs: not started again, and said so.
        clock.set(at(2))
        await until(lambda: len(runs.runs(APP, job="slow")) == 2)
        await until(lambda: [r.state for r in runs.runs(APP, job="quick")] == ["finished"] * 2)
        skipped = runs.runs(APP, job="slow")[0]
        assert skipped.state == "skipped" and "still running" in (skipped.note or "")
        assert len([o for o in graph.supervisor.oneoffs.of_app(APP) if "sleep" in o.command]) == 1
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        # Ten minutes with no scheduler: with no catch-up the missed ticks are skipped, once.
        clock.set(at(12, 30))
        later = Scheduler(graph.store, graph.supervisor.oneoffs, clock, lambda *_a: None)
        loop = asyncio.create_task(later.run())
        await until(
            lambda: (
                runs.cursor(APP, "quick") == at(12)
                and not [r for r in runs.unfinished() if r.job == "quick"]
            )
        )
        quick = runs.runs(APP, job="quick")
        assert [r.state for r in quick] == ["skipped", "finished", "finished"]
        assert quick[0].tick == at(12) and "10 tick(s) missed" in (quick[0].note or "")
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        # With a catch-up of two minutes, a restart after a short outage runs what it missed.
        clock.set(at(14, 30))
        catching = Scheduler(
            graph.store, graph.supervisor.oneoffs, clock, lambda *_a: None, catchup=120
        )
        loop = asyncio.create_task(catching.run())
        await until(
            lambda: (
                runs.cursor(APP, "quick") == at(14)
                and not [r for r in runs.unfinished() if r.job == "quick"]
            )
        )
        ran = [r.tick for r in runs.runs(APP, job="quick") if r.state != "skipped"]
        assert sorted(t or 0 for t in ran)[-2:] == [at(13), at(14)]
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    finally:
        await graph.supervisor.stop_all()
        graph.store.close()


def test_missed_ticks_are_skipped_or_caught_up_and_a_running_job_is_not_doubled(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    asyncio.run(downtime_and_overlap(home, tmp_path))
