"""Which ticks are due now, which were missed, and when to look again. Pure: time is given.

A job's ticks are counted from its cursor (the newest tick claimed or skipped, else when it was
first seen). A tick up to ``tolerance`` seconds old runs; older ones were missed while no daemon
ran: they are skipped, and said once (the newest stands for all of them).
"""

from __future__ import annotations

from dataclasses import dataclass

from twelve.appspec.cron import Job, next_tick, ticks_between

ON_TIME = 5.0  # seconds late a tick still counts as on time (a busy loop, a quick restart)
LOOK_AGAIN = 30.0  # seconds at most between looks, so jobs a deploy adds are seen soon


@dataclass(frozen=True)
class JobPlan:
    job: Job
    run: tuple[float, ...]  # ticks to claim and run now, oldest first
    missed: int  # ticks too old to run
    newest_missed: float | None  # the tick recorded as skipped for them
    next_at: float  # the job's next tick after now


def tolerance(catchup: float) -> float:
    """How old a tick may be and still run: ``TWELVE_CRON_CATCHUP``, at least ON_TIME."""
    return max(ON_TIME, catchup)


def plan_job(job: Job, cursor: float, now: float, tz: str, catchup: float) -> JobPlan:
    due = ticks_between(job.schedule, cursor, now, tz)
    limit = tolerance(catchup)
    late = [t for t in due if now - t > limit]
    return JobPlan(
        job,
        tuple(t for t in due if now - t <= limit),
        len(late),
        late[-1] if late else None,
        next_tick(job.schedule, now, tz),
    )


def wake_at(plans: list[JobPlan], now: float) -> float:
    """When to look again: the next tick of any job, and at most LOOK_AGAIN from now."""
    return min([now + LOOK_AGAIN, *(p.next_at for p in plans)])
