"""Daily scheduled backups: set, removed, run when due, and pruned by retention.

``tick(now)`` is the whole decision, given a time: the daemon calls it in a loop with the real
clock, tests call it with the times they choose. A run missed while the daemon was down is owed
at its first tick.
"""

from __future__ import annotations

import asyncio
import contextlib

from twelve.backups.manager import BackupManager, log
from twelve.backups.schedule import (
    DAILY,
    WEEKLY,
    Kept,
    Schedule,
    is_due,
    next_due,
    parse_at,
    to_prune,
)
from twelve.errors import NotFound, TwelveError, UsageError
from twelve.store.backups import VERIFIED, Backup

MAX_SLEEP = 60.0


class Scheduler:
    def __init__(self, manager: BackupManager) -> None:
        self.manager = manager
        self.records = manager.records
        self._wake = asyncio.Event()

    def set(
        self, app: str, name: str | None, at: str, daily: int | None, weekly: int | None
    ) -> tuple[str, Schedule]:
        addon = self.manager.addon_of(app, name)
        hour, minute, zone = parse_at(at)
        for label, value in (("--daily", daily), ("--weekly", weekly)):
            if value is not None and not 0 <= value <= 1000:
                raise UsageError(f"{label} must be a count from 0 to 1000")
        if daily == 0 and weekly == 0:
            raise UsageError("a schedule that keeps no backup", "keep --daily or --weekly above 0")
        schedule = Schedule(
            hour,
            minute,
            zone,
            DAILY if daily is None else daily,
            WEEKLY if weekly is None else weekly,
        )
        self.records.set_schedule(addon.name, app, schedule, self.manager.clock())
        self._wake.set()
        return addon.name, schedule

    def unset(self, app: str, name: str | None) -> str:
        addon = self.manager.addon_of(app, name)
        if not self.records.remove_schedule(addon.name):
            raise NotFound(f"{addon.name} has no backup schedule")
        return addon.name

    def of_app(self, app: str) -> list[tuple[str, Schedule]]:
        return [(addon, s) for addon, _app, s, _since in self.records.schedules(app)]

    async def tick(self, now: float) -> list[Backup]:
        """Capture every backup owed at ``now``, then prune; the backups made."""
        made = []
        for addon, app, schedule, since in self.records.schedules():
            if not is_due(schedule, since, now):
                continue
            try:
                made.append(await self.manager.capture(app, addon, scheduled=True))
            except NotFound:
                # The add-on (or its app) was destroyed: its schedule goes with it.
                self.records.remove_schedule(addon)
                log.info("%s: %s is gone; its backup schedule is removed", app, addon)
                continue
            except TwelveError as exc:
                log.error("%s: the scheduled backup of %s failed: %s", app, addon, exc.message)
            self.records.ran(addon, now)
            await self.prune(app, addon, schedule)
        return made

    async def prune(self, app: str, addon: str, schedule: Schedule) -> list[str]:
        """Remove the scheduled backups of ``addon`` retention no longer keeps."""
        mine = [b for b in self.records.of_app(app) if b.addon == addon]
        kept = [Kept(b.id, b.started_at, b.status == VERIFIED, b.scheduled) for b in mine]
        gone = to_prune(kept, schedule)
        for ident in gone:
            with contextlib.suppress(NotFound):
                await self.manager.delete(app, ident)
        if gone:
            log.info("%s: retention removed %s of %s", app, ", ".join(gone), addon)
        return gone

    async def run(self) -> None:
        """Tick until cancelled, sleeping until the next run is due (a minute at most)."""
        while True:
            now = self.manager.clock()
            try:
                await self.tick(now)
            except Exception:
                log.exception("scheduled backups")
            dues = [next_due(s, self.manager.clock()) for _a, _b, s, _c in self.records.schedules()]
            wait = min([MAX_SLEEP, *(d - self.manager.clock() for d in dues)])
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(wait, 0.0) + 0.01)
