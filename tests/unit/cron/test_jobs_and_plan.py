"""app.json ``cron`` entries and the scheduler's planning, on times the tests give: which ticks
run, which were missed while no daemon ran, and when to look again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twelve.appspec.appjson import parse_app_json
from twelve.appspec.cron import Job, next_tick, schedule_problem, ticks_between
from twelve.cron.plan import LOOK_AGAIN, ON_TIME, plan_job, wake_at
from twelve.errors import SpecError


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


EVERY_MINUTE = Job("ping", "python ping.py", "* * * * *")


def test_entries_in_dokkus_shape_become_jobs_with_stable_names() -> None:
    text = """{
  "cron": [
    {"command": "python manage.py clearsessions", "schedule": "*/10 * * * *"},
    {"name": "nightly", "command": "python report.py", "schedule": "@daily",
     "concurrency": "allow", "timeout": 600}
  ]
}"""
    jobs = parse_app_json(text).cron
    assert [j.schedule for j in jobs] == ["*/10 * * * *", "@daily"]
    assert jobs[0].name.startswith("job-") and jobs[0].name == parse_app_json(text).cron[0].name
    assert jobs[0].timeout == 3600 and not jobs[0].allow_overlap
    assert jobs[1] == Job("nightly", "python report.py", "@daily", True, 600.0)
    assert Job.from_json(jobs[1].to_json()) == jobs[1]


@pytest.mark.parametrize(
    ("entry", "line", "message"),
    [
        ('{"command": "x", "schedule": "* * * *"}', 4, "five fields"),
        ('{"command": "x", "schedule": "*/5 * * * * *"}', 4, "five fields"),
        ('{"command": "x", "schedule": "61 * * * *"}', 4, "not a valid cron schedule"),
        ('{"command": "x", "schedule": "@often"}', 4, "@often is not one of"),
        ('{"command": "x"}', 4, "needs a schedule"),
        ('{"schedule": "* * * * *"}', 4, "needs a command"),
        ('{"command": "x", "schedule": "@daily", "concurrency": "maybe"}', 4, "concurrency"),
        ('{"command": "x", "schedule": "@daily", "timeout": 0}', 4, "timeout"),
        ('{"command": "x", "schedule": "@daily", "name": "Bad Name"}', 4, "name must be"),
        ('"x"', 4, "must be an object"),
    ],
)
def test_a_bad_entry_names_the_file_and_line(entry: str, line: int, message: str) -> None:
    text = (
        '{\n  "cron": [\n    {"command": "ok", "schedule": "@hourly"},\n    ' + entry + "\n  ]\n}"
    )
    with pytest.raises(SpecError) as failed:
        parse_app_json(text)
    assert failed.value.message.startswith(f"app.json:{line}: cron[1]")
    assert message in failed.value.message


def test_schedules_are_standard_cron_in_the_time_zone_given() -> None:
    assert schedule_problem("*/10 * * * *") is None and schedule_problem("@hourly") is None
    assert next_tick("0 9 * * *", at("2026-03-01T08:00:00")) == at("2026-03-01T09:00:00")
    # 09:00 in Paris is 08:00 UTC in winter.
    assert next_tick("0 9 * * *", at("2026-03-01T06:00:00"), "Europe/Paris") == at(
        "2026-03-01T08:00:00"
    )
    ticks = ticks_between("*/10 * * * *", at("2026-03-01T08:00:00"), at("2026-03-01T08:30:00"))
    assert ticks == [
        at("2026-03-01T08:10:00"),
        at("2026-03-01T08:20:00"),
        at("2026-03-01T08:30:00"),
    ]


def test_a_job_every_minute_observed_for_several_ticks_on_a_given_clock() -> None:
    cursor, now = at("2026-03-01T08:00:30"), at("2026-03-01T08:00:30")
    seen = []
    for _ in range(5):
        plan = plan_job(EVERY_MINUTE, cursor, now, "UTC", 0)
        seen += plan.run
        cursor = plan.run[-1] if plan.run else cursor
        now = wake_at([plan], now)  # the scheduler sleeps until then
    assert seen == [at(f"2026-03-01T08:0{m}:00") for m in (1, 2)]
    assert now == at("2026-03-01T08:03:00")


def test_each_tick_is_planned_once_whatever_the_clock_does_between_looks() -> None:
    cursor = at("2026-03-01T08:00:00")
    first = plan_job(EVERY_MINUTE, cursor, at("2026-03-01T08:01:00.5"), "UTC", 0)
    assert first.run == (at("2026-03-01T08:01:00"),)
    again = plan_job(EVERY_MINUTE, first.run[-1], at("2026-03-01T08:01:20"), "UTC", 0)
    assert again.run == () and again.missed == 0


def test_ticks_missed_while_down_are_skipped_unless_young_enough_for_the_catchup() -> None:
    cursor, now = at("2026-03-01T08:00:00"), at("2026-03-01T08:10:30")
    skipped = plan_job(EVERY_MINUTE, cursor, now, "UTC", 0)
    assert skipped.run == () and skipped.missed == 10
    assert skipped.newest_missed == at("2026-03-01T08:10:00")
    caught = plan_job(EVERY_MINUTE, cursor, now, "UTC", 100)
    assert caught.run == (at("2026-03-01T08:09:00"), at("2026-03-01T08:10:00"))
    assert caught.missed == 8
    # A tick a few seconds late (a quick restart, a busy loop) still runs.
    late = plan_job(EVERY_MINUTE, cursor, at("2026-03-01T08:01:00") + ON_TIME - 1, "UTC", 0)
    assert late.run == (at("2026-03-01T08:01:00"),)


def test_the_loop_looks_again_at_the_next_tick_or_soon() -> None:
    now = at("2026-03-01T08:00:10")
    daily = plan_job(Job("d", "x", "@daily"), now, now, "UTC", 0)
    assert wake_at([daily], now) == now + LOOK_AGAIN
    later = at("2026-03-01T08:00:50")
    minute = plan_job(EVERY_MINUTE, later, later, "UTC", 0)
    assert wake_at([daily, minute], later) == at("2026-03-01T08:01:00")
