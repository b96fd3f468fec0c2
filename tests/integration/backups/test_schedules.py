"""Scheduled backups observed with a clock the test sets: due runs, a missed run, retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from twelve.backups.manager import BackupManager
from twelve.backups.scheduler import Scheduler
from twelve.compose import Graph

from .test_postgres_backups import backups, make_app_with_database, seed


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def scheduled(
    graph: Graph, loop: asyncio.AbstractEventLoop, rows: int, daily: int
) -> tuple[str, BackupManager, Scheduler, list[float]]:
    """An app with ``rows`` in its database, backed up at 02:00 UTC keeping ``daily`` backups, on
    a clock that starts at 2026-03-01 10:00 (the list's one value: set it to move the clock)."""
    app, addon = make_app_with_database(graph, loop)
    seed(addon.url, rows)
    manager = backups(graph)
    now = [at("2026-03-01 10:00")]
    manager.clock = lambda: now[0]
    scheduler = Scheduler(manager)
    scheduler.set(app, None, "02:00 UTC", daily=daily, weekly=0)
    return app, manager, scheduler, now


def test_a_daily_schedule_runs_when_due_catches_up_once_and_prunes(
    graph: Graph, loop: asyncio.AbstractEventLoop
) -> None:
    app, manager, scheduler, now = scheduled(graph, loop, rows=50, daily=2)

    def tick(when: str) -> list[str]:
        now[0] = at(when)
        return [b.id for b in loop.run_until_complete(scheduler.tick(now[0]))]

    def kept() -> list[str]:
        return [b.id for b in manager.list(app)]

    assert tick("2026-03-01 23:59") == [], "not due before its time"
    assert tick("2026-03-02 02:00:01") == ["b001"]
    assert tick("2026-03-02 14:00") == [], "once a day"
    assert tick("2026-03-03 02:00:01") == ["b002"]
    assert tick("2026-03-04 02:00:01") == ["b003"]
    assert kept() == ["b002", "b003"], "two daily backups kept"
    # The daemon was down from the 4th to the 7th: one run at start, not three.
    assert tick("2026-03-07 09:30") == ["b004"]
    assert tick("2026-03-07 09:31") == []
    assert kept() == ["b003", "b004"]
    assert all(b.scheduled and b.status == "verified" for b in manager.list(app))
    stored = sorted(p.name for p in (graph.settings.home / "backups" / app).iterdir())
    assert stored == ["b003.dump.sealed", "b004.dump.sealed"], "pruned files are gone"


def test_a_failing_scheduled_backup_does_not_push_out_the_good_ones(
    graph: Graph, loop: asyncio.AbstractEventLoop
) -> None:
    app, manager, scheduler, now = scheduled(graph, loop, rows=20, daily=1)
    now[0] = at("2026-03-02 02:00:01")
    loop.run_until_complete(scheduler.tick(now[0]))
    # From now on every verification finds a difference, as a damaged disk would make it.
    original = manager._check

    async def failing(*args: object, **kwargs: object) -> list[str]:
        await original(*args, **kwargs)  # type: ignore[arg-type]
        return ["table public.notes has different content restored"]

    manager._check = failing  # type: ignore[method-assign]
    for day in ("03", "04"):
        now[0] = at(f"2026-03-{day} 02:00:01")
        loop.run_until_complete(scheduler.tick(now[0]))
    states = {b.id: b.status for b in manager.list(app)}
    assert states == {"b001": "verified", "b002": "failed", "b003": "failed"}
