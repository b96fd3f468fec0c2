"""app.json ``cron`` entries (Dokku's shape) and their schedules. Pure.

``[{"command": "python manage.py clearsessions", "schedule": "*/10 * * * *"}]``, with optional
``"name"``, ``"concurrency": "allow"`` and ``"timeout"`` (seconds, default an hour). Schedules are
standard five-field cron lines or ``@hourly``/``@daily``/``@weekly``/``@monthly``/``@yearly``,
in UTC unless ``TWELVE_CRON_TZ`` says otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from twelve.errors import SpecError

DEFAULT_TIMEOUT = 3600.0
MAX_TIMEOUT = 7 * 86400.0
NICKNAMES = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class Job:
    name: str
    command: str
    schedule: str
    allow_overlap: bool = False  # "concurrency": "allow"
    timeout: float = DEFAULT_TIMEOUT

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "command": self.command,
            "schedule": self.schedule,
            "concurrency": "allow" if self.allow_overlap else "forbid",
            "timeout": self.timeout,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        return cls(
            str(data["name"]),
            str(data["command"]),
            str(data["schedule"]),
            data.get("concurrency") == "allow",
            float(data.get("timeout") or DEFAULT_TIMEOUT),
        )


def schedule_problem(schedule: str) -> str | None:
    """Why ``schedule`` is not a five-field cron line or a nickname (None when it is one)."""
    text = schedule.strip()
    if text.startswith("@"):
        return None if text in NICKNAMES else f"{text} is not one of {', '.join(sorted(NICKNAMES))}"
    if len(text.split()) != 5:
        return "needs five fields: minute hour day-of-month month day-of-week"
    if not croniter.is_valid(text):
        return f"{text!r} is not a valid cron schedule"
    return None


def next_tick(schedule: str, after: float, tz: str = "UTC") -> float:
    """The first time strictly after ``after`` (epoch seconds) that ``schedule`` names."""
    start = datetime.fromtimestamp(after, ZoneInfo(tz))
    when: datetime = croniter(schedule.strip(), start).get_next(datetime)
    return when.timestamp()


def ticks_between(
    schedule: str, after: float, upto: float, tz: str = "UTC", limit: int = 1000
) -> list[float]:
    """Every tick in ``(after, upto]``, oldest first, at most ``limit`` (the newest ones)."""
    found: list[float] = []
    at = after
    while True:
        at = next_tick(schedule, at, tz)
        if at > upto:
            return found[-limit:]
        found.append(at)
        if len(found) > 2 * limit:
            del found[:limit]


def _line_of(text: str, needle: str, start: int) -> tuple[int, int]:
    """The line of ``needle`` in ``text`` from ``start`` (1 when not found), and where it ends."""
    at = text.find(needle, start)
    if at < 0:
        return 1 + text.count("\n", 0, start), start
    return 1 + text.count("\n", 0, at), at + len(needle)


def parse_jobs(raw: Any, text: str, filename: str = "app.json") -> tuple[Job, ...]:
    """The ``cron`` entries of app.json; a SpecError naming the file and line of a bad one."""
    if raw is None:
        return ()
    line, cursor = _line_of(text, '"cron"', 0)
    if not isinstance(raw, list):
        raise SpecError(f"{filename}:{line}: cron must be a list of {{command, schedule}}")
    jobs: list[Job] = []
    for index, entry in enumerate(raw):
        where = f"cron[{index}]"
        if isinstance(entry, dict) and isinstance(entry.get("command"), str):
            line, cursor = _line_of(text, json.dumps(entry["command"])[1:-1], cursor)
        elif isinstance(entry, dict):
            line, cursor = _line_of(text, "{", cursor)
        else:
            line, cursor = _line_of(text, json.dumps(entry), cursor)

        def fail(problem: str, line: int = line, where: str = where) -> SpecError:
            return SpecError(f"{filename}:{line}: {where} {problem}", "see README.md, Scheduler")

        if not isinstance(entry, dict):
            raise fail('must be an object such as {"command": "...", "schedule": "0 * * * *"}')
        command, schedule = entry.get("command"), entry.get("schedule")
        if not isinstance(command, str) or not command.strip() or "\x00" in command:
            raise fail("needs a command")
        if not isinstance(schedule, str):
            raise fail("needs a schedule such as */10 * * * * or @daily")
        problem = schedule_problem(schedule)
        if problem:
            raise fail(f"schedule: {problem}")
        concurrency = entry.get("concurrency", "forbid")
        if concurrency not in ("allow", "forbid"):
            raise fail('concurrency must be "allow" or "forbid"')
        timeout = entry.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise fail("timeout must be a number of seconds")
        if not 1 <= timeout <= MAX_TIMEOUT:
            raise fail(f"timeout must be from 1 to {MAX_TIMEOUT:.0f} seconds")
        name = entry.get("name")
        if name is None:
            digest = hashlib.sha256(f"{schedule.strip()}\n{command}".encode()).hexdigest()
            name = f"job-{digest[:8]}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise fail("name must be lowercase letters, digits, - and _ (up to 63)")
        if any(job.name == name for job in jobs):
            raise fail(f"name {name} is used twice")
        jobs.append(Job(name, command, schedule.strip(), concurrency == "allow", float(timeout)))
    return tuple(jobs)
