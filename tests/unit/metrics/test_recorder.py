"""The recorder: router tallies and samples into ten-second points, written as each interval
closes, read back at the resolution the window asks for, bounded in series and in rows."""

from __future__ import annotations

from pathlib import Path

from twelve.metrics.point import Point
from twelve.metrics.recorder import Recorder, Sample
from twelve.metrics.summary import summarize
from twelve.router.metrics import Meter
from twelve.store import Store


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _tallies(app: str, dyno: str, statuses: list[int]) -> list[dict[str, object]]:
    meter = Meter()
    for status in statuses:
        meter.record(app, "127.0.0.1:5000", dyno, status, "", 0.005, 0.006)
    return meter.take()


def _recorder(tmp_path: Path, clock: Clock, max_series: int = 1000) -> Recorder:
    return Recorder(Store(tmp_path / "twelve.db").metrics, clock, max_series)


def test_points_are_written_as_their_interval_closes_and_read_back_whole(tmp_path):
    """Counts from two workers in one interval and one in the next add up, written or not."""
    clock = Clock(1_000_000.0)
    recorder = _recorder(tmp_path, clock)
    recorder.add_tallies(_tallies("shop", "web.1", [200, 200, 500]))
    recorder.add_tallies(_tallies("shop", "web.2", [200]))
    clock.now += 10
    recorder.flush()  # the first interval is written; the second is still open
    recorder.add_tallies(_tallies("shop", "web.1", [404]))
    assert recorder.store.count() == 2  # its ten-second row and its minute
    resolution, points = recorder.points("shop", clock.now - 3600)
    assert resolution == 10
    assert [(kind, p.requests) for kind, _, p in points] == [
        ("web", {"2xx": 3, "5xx": 1}),
        ("web", {"4xx": 1}),
    ]
    summary = summarize(points, 60)["web"]
    assert summary["requests"] == 5 and summary["error_rate"] == 0.2
    assert 4 < summary["p50_ms"] <= 6


def test_a_window_past_the_hour_reads_minutes_and_old_rows_are_pruned(tmp_path):
    clock = Clock(1_000_020.0)
    recorder = _recorder(tmp_path, clock)
    recorder.add_tallies(_tallies("shop", "web.1", [200]))
    clock.now += 10
    recorder.add_tallies(_tallies("shop", "web.1", [200]))
    clock.now += 10
    recorder.flush()
    resolution, points = recorder.points("shop", clock.now - 86400)
    assert resolution == 60
    assert [p.requests for _, _, p in points] == [{"2xx": 2}]  # one minute, both intervals
    clock.now += 3601
    recorder.add_tallies(_tallies("shop", "web.1", [200]))
    clock.now += 10
    recorder.flush()  # the first ten-second rows are past their hour now
    _, tens = recorder.points("shop", clock.now - 3600)
    assert sum(p.count for _, _, p in tens) == 1
    _, minutes = recorder.points("shop", clock.now - 86400)
    assert sum(p.count for _, _, p in minutes) == 3


def test_samples_keep_the_peak_memory_and_add_cpu_and_restarts(tmp_path):
    clock = Clock(1_000_000.0)
    recorder = _recorder(tmp_path, clock)
    recorder.add_sample("shop", "worker", Sample(0.5, 100 << 20, 512 << 20, 2, 1, 1))
    clock.now += 1
    recorder.add_sample("shop", "worker", Sample(0.25, 80 << 20, 512 << 20, 2, 0, 0))
    _, points = recorder.points("shop", clock.now - 60, "worker")
    ((kind, _, point),) = points
    assert (kind, point.cpu, point.memory, point.restarts) == ("worker", 0.75, 100 << 20, 1)
    assert recorder.latest[("shop", "worker")].memory == 80 << 20


def test_series_past_the_cap_are_refused_and_an_app_destroyed_is_forgotten(tmp_path):
    clock = Clock(1_000_000.0)
    recorder = _recorder(tmp_path, clock, max_series=2)
    for app in ("a", "b", "c"):
        recorder.add_tallies(_tallies(app, "web.1", [200]))
    assert sorted(recorder.totals) == [("a", "web"), ("b", "web")]
    clock.now += 10
    recorder.flush()
    recorder.forget("a")
    assert recorder.points("a", clock.now - 600)[1] == []
    assert sorted(recorder.totals) == [("b", "web")]


def test_a_point_survives_its_json_form_which_keeps_only_buckets_that_counted():
    point = Point(cpu=1.5, memory=3, memory_limit=4, processes=1, restarts=2, crashes=2)
    point.add_tally(_tallies("a", "web.1", [200, 503])[0])
    stored = point.to_json()
    assert stored["service"] == {"3": 2}  # both 5 ms: the (4 ms, 6 ms] bucket
    again = Point.from_json(stored)
    assert again.to_json() == stored
    assert again.service == point.service
