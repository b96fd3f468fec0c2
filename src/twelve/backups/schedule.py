"""Daily backup schedules and retention, as pure functions of a given clock.

A schedule is a time of day in a time zone (``02:00 UTC``, ``03:30 Europe/Paris``). The daemon asks
which schedules are due at ``now`` given when each last ran; one missed while the daemon was down
is due at once when it starts. Retention keeps, among verified scheduled backups, the newest of
each of the last N days and of the last M weeks (Heroku's 7 and 4): a backup that failed its
verification never takes the place of a good one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from twelve.errors import UsageError

_AT = re.compile(r"\s*(\d{1,2}):(\d{2})(?:\s+(\S+))?\s*")
DAILY = 7
WEEKLY = 4


@dataclass(frozen=True)
class Schedule:
    """When an add-on is backed up each day, and how many backups are kept."""

    hour: int
    minute: int
    zone: str = "UTC"
    daily: int = DAILY
    weekly: int = WEEKLY

    def tz(self) -> ZoneInfo | timezone:
        return UTC if self.zone.upper() == "UTC" else ZoneInfo(self.zone)

    def describe(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d} {self.zone}"


def parse_at(text: str) -> tuple[int, int, str]:
    """``02:00 UTC`` → (2, 0, "UTC"); the zone defaults to UTC. A UsageError names the form."""
    found = _AT.fullmatch(text)
    hint = "for example --at '02:00 UTC' or --at '03:30 Europe/Paris'"
    if found is None:
        raise UsageError(f"--at {text!r} is not a time of day", hint)
    hour, minute, zone = int(found[1]), int(found[2]), found[3] or "UTC"
    if hour > 23 or minute > 59:
        raise UsageError(f"--at {text!r} is not a time of day", hint)
    if zone.upper() != "UTC":
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"--at {text!r} names no known time zone", hint) from None
    return hour, minute, "UTC" if zone.upper() == "UTC" else zone


def last_due(schedule: Schedule, now: float) -> float:
    """The latest scheduled instant at or before ``now`` (a Unix time)."""
    tz = schedule.tz()
    local = datetime.fromtimestamp(now, tz)
    for days_back in range(3):
        day = (local - timedelta(days=days_back)).date()
        at = datetime(day.year, day.month, day.day, schedule.hour, schedule.minute, tzinfo=tz)
        if at.timestamp() <= now:
            return at.timestamp()
    raise AssertionError("a daily time always occurs within three days")  # pragma: no cover


def next_due(schedule: Schedule, now: float) -> float:
    """The first scheduled instant after ``now``."""
    tz = schedule.tz()
    local = datetime.fromtimestamp(now, tz)
    for days_ahead in range(3):
        day = (local + timedelta(days=days_ahead)).date()
        at = datetime(day.year, day.month, day.day, schedule.hour, schedule.minute, tzinfo=tz)
        if at.timestamp() > now:
            return at.timestamp()
    raise AssertionError("a daily time always occurs within three days")  # pragma: no cover


def is_due(schedule: Schedule, since: float, now: float) -> bool:
    """Whether a run is owed: a scheduled instant passed after ``since`` (the last run, or when
    the schedule was set), however long ago, so a daemon that was down catches up once."""
    return last_due(schedule, now) > since


@dataclass(frozen=True)
class Kept:
    """What retention knows of one backup."""

    id: str
    taken_at: float
    verified: bool
    scheduled: bool


def to_prune(backups: list[Kept], schedule: Schedule) -> list[str]:
    """Ids of scheduled backups retention removes. Manual backups are the user's to delete.

    Kept: the newest verified backup of each of the last ``daily`` days that have one, and of each
    of the last ``weekly`` ISO weeks. A backup that failed verification stays while it is newer
    than the oldest verified one kept, so it can be looked at; it never counts as one kept.
    """
    tz = schedule.tz()
    good = sorted(
        (b for b in backups if b.scheduled and b.verified), key=lambda b: b.taken_at, reverse=True
    )
    keep: set[str] = set()
    days: list[object] = []
    weeks: list[object] = []
    for backup in good:
        local = datetime.fromtimestamp(backup.taken_at, tz)
        day, week = local.date(), local.isocalendar()[:2]
        if day not in days and len(days) < schedule.daily:
            days.append(day)
            keep.add(backup.id)
        if week not in weeks and len(weeks) < schedule.weekly:
            weeks.append(week)
            keep.add(backup.id)
    oldest_kept = min((b.taken_at for b in good if b.id in keep), default=0.0)
    prune = [b.id for b in good if b.id not in keep]
    prune += [
        b.id
        for b in backups
        if b.scheduled and not b.verified and oldest_kept and b.taken_at < oldest_kept
    ]
    return sorted(prune)
