"""Backup schedules and retention, decided from a given clock (no sleeping, no daemon)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twelve.backups.schedule import Kept, Schedule, is_due, last_due, next_due, parse_at, to_prune
from twelve.errors import UsageError


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_at_reads_a_time_of_day_and_a_zone() -> None:
    assert parse_at("02:00 UTC") == (2, 0, "UTC")
    assert parse_at("2:30") == (2, 30, "UTC")
    assert parse_at("03:30 Europe/Paris") == (3, 30, "Europe/Paris")


@pytest.mark.parametrize("text", ["24:00 UTC", "02:60", "two", "02:00 Mars/Olympus", ""])
def test_at_refuses_what_is_not_a_time_with_an_example(text: str) -> None:
    with pytest.raises(UsageError, match="--at") as caught:
        parse_at(text)
    assert "02:00 UTC" in (caught.value.hint or "")


def test_a_schedule_is_due_once_its_time_passes_and_not_again_until_tomorrow() -> None:
    daily = Schedule(2, 0)
    set_at = at("2026-03-01 10:00")
    assert not is_due(daily, set_at, at("2026-03-02 01:59"))
    assert is_due(daily, set_at, at("2026-03-02 02:00"))
    ran = at("2026-03-02 02:00:05")
    assert not is_due(daily, ran, at("2026-03-02 23:00"))
    assert is_due(daily, ran, at("2026-03-03 02:00"))
    assert next_due(daily, ran) == at("2026-03-03 02:00")


def test_a_run_missed_while_the_daemon_was_down_is_owed_once_at_start() -> None:
    daily = Schedule(2, 0)
    last_run = at("2026-03-01 02:00:03")
    started = at("2026-03-04 09:00")  # down through three scheduled times
    assert is_due(daily, last_run, started)
    assert last_due(daily, started) == at("2026-03-04 02:00")
    assert not is_due(daily, started, at("2026-03-04 09:01")), "one catch-up run, not three"


def test_a_schedule_in_a_time_zone_follows_its_clock_across_daylight_saving() -> None:
    paris = Schedule(2, 30, "Europe/Paris")
    assert next_due(paris, at("2026-01-10 00:00")) == at("2026-01-10 01:30")  # UTC+1
    assert next_due(paris, at("2026-07-10 00:00")) == at("2026-07-10 00:30")  # UTC+2


def daily_backups(days: int, verified: bool = True) -> list[Kept]:
    return [
        Kept(f"b{n:03d}", at("2026-01-01 02:00") + (n - 1) * 86400, verified, True)
        for n in range(1, days + 1)
    ]


def test_retention_keeps_seven_daily_and_four_weekly_as_heroku_does() -> None:
    backups = daily_backups(60)  # two months of nightly backups, all verified
    pruned = set(to_prune(backups, Schedule(2, 0)))
    kept = sorted({b.id for b in backups} - pruned)
    assert kept[-7:] == [f"b{n:03d}" for n in range(54, 61)], "the last seven days"
    # Sundays, each the newest of its ISO week: Feb 8, 15 and 22 (Mar 1's week is in the seven).
    assert kept[:-7] == ["b039", "b046", "b053"]


def test_retention_is_settable() -> None:
    pruned = to_prune(daily_backups(10), Schedule(2, 0, daily=2, weekly=0))
    assert sorted(set(f"b{n:03d}" for n in range(1, 11)) - set(pruned)) == ["b009", "b010"]


def test_a_failed_backup_never_displaces_a_verified_one() -> None:
    backups = daily_backups(7)
    bad = [
        Kept(f"b{n:03d}", at("2026-01-08 02:00") + i * 86400, False, True)
        for i, n in enumerate(range(8, 12))
    ]
    pruned = to_prune(backups + bad, Schedule(2, 0))
    assert not [p for p in pruned if p <= "b007"], "seven good ones stay while newer ones fail"
    assert not [p for p in pruned if p >= "b008"], "the failed ones stay to be looked at"


def test_manual_backups_are_never_pruned() -> None:
    manual = [Kept(f"b{n:03d}", at("2026-01-01 02:00") + n * 3600, True, False) for n in range(40)]
    assert to_prune(manual, Schedule(2, 0, daily=1, weekly=1)) == []
