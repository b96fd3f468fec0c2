"""`twelve logs --ps/--source/--since/--grep` select the lines a user asked for."""

from datetime import UTC, datetime, timedelta

import pytest

from twelve.errors import UsageError
from twelve.logs.filters import LogFilter, parse_since
from twelve.logs.line import LogLine

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def line(
    source: str = "app", process: str = "web.1", message: str = "hi", ago: float = 0
) -> LogLine:
    return LogLine(NOW - timedelta(seconds=ago), source, process, message)


def test_ps_type_selects_every_process_of_that_type() -> None:
    only_web = LogFilter(ps="web")
    assert only_web.matches(line(process="web.1"))
    assert only_web.matches(line(process="web.2"))
    assert not only_web.matches(line(process="worker.1"))
    assert not only_web.matches(line(process="webhook.1"))


def test_ps_with_number_selects_one_process() -> None:
    one = LogFilter(ps="web.2")
    assert one.matches(line(process="web.2"))
    assert not one.matches(line(process="web.1"))
    assert not one.matches(line(process="web.21"))


def test_source_selects_router_or_platform_lines() -> None:
    router = LogFilter(source="router")
    assert router.matches(line(source="router", process="web.1"))
    assert not router.matches(line(source="app"))
    assert LogFilter(source="twelve").matches(line(source="twelve", process="api"))


def test_since_keeps_lines_at_or_after_the_time() -> None:
    recent = LogFilter(since=NOW - timedelta(minutes=10))
    assert recent.matches(line(ago=60))
    assert recent.matches(line(ago=600))
    assert not recent.matches(line(ago=601))


def test_grep_is_a_plain_case_sensitive_substring_of_the_message() -> None:
    errors = LogFilter(grep="ERROR [db]")
    assert errors.matches(line(message="2 ERROR [db] timeout"))
    assert not errors.matches(line(message="error [db] timeout"))
    assert not LogFilter(grep="web").matches(line(process="web.1", message="nothing"))


def test_filters_combine_with_and() -> None:
    both = LogFilter(ps="worker", grep="done")
    assert both.matches(line(process="worker.3", message="job done"))
    assert not both.matches(line(process="web.1", message="job done"))
    assert not both.matches(line(process="worker.3", message="job started"))


def test_an_empty_filter_selects_everything() -> None:
    assert LogFilter().selects_all
    assert LogFilter.parse(ps="", source="", since="", grep="").selects_all
    assert LogFilter().matches(line(source="twelve", process="api"))


@pytest.mark.parametrize(
    ("text", "back"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1.5h", 5400), ("10M", 600)],
)
def test_since_durations_count_back_from_now(text: str, back: int) -> None:
    assert parse_since(text, NOW) == NOW - timedelta(seconds=back)


def test_since_accepts_iso_times_and_takes_naive_ones_as_utc() -> None:
    assert parse_since("2026-11-28T11:00:00", NOW) == datetime(2026, 11, 28, 11, tzinfo=UTC)
    moment = parse_since("2026-11-28T13:00:00+02:00", NOW)
    assert moment == datetime(2026, 11, 28, 11, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "10", "10 minutes", "-5m", ""])
def test_since_that_is_no_time_is_a_usage_error_with_examples(text: str) -> None:
    with pytest.raises(UsageError) as error:
        parse_since(text, NOW)
    assert "--since" in error.value.message
    assert error.value.hint is not None and "10m" in error.value.hint


def test_unknown_source_and_malformed_ps_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--source 'heroku'"):
        LogFilter(source="heroku")
    with pytest.raises(UsageError, match="--ps"):
        LogFilter(ps="web 1")
    with pytest.raises(UsageError, match="--ps"):
        LogFilter(ps="web.x")
    with pytest.raises(UsageError, match="--ps"):
        LogFilter(ps="web.1\n")


def test_parse_builds_a_filter_from_typed_text() -> None:
    parsed = LogFilter.parse(ps="web", source="app", since="10m", grep="GET", now=NOW)
    assert parsed == LogFilter("web", "app", NOW - timedelta(minutes=10), "GET")
