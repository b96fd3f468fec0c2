"""The router's histogram buckets and their reading as percentiles."""

from __future__ import annotations

from twelve.metrics.histogram import empty, percentile
from twelve.router.metrics import BOUNDS, BUCKETS, SERVICE, TOTAL, Meter, bucket


def test_every_duration_falls_in_the_bucket_its_bounds_say():
    assert len(BOUNDS) + 1 == BUCKETS
    assert TOTAL == SERVICE + BUCKETS
    assert list(BOUNDS) == sorted(BOUNDS)
    assert bucket(0.0) == 0
    assert bucket(BOUNDS[0]) == 0  # a bound belongs to its own bucket
    for index, bound in enumerate(BOUNDS):
        assert bucket(bound) == index
        assert bucket(bound * 1.0001) == index + 1
    assert bucket(1e9) == BUCKETS - 1


def test_a_percentile_lies_in_the_bucket_of_the_true_value():
    counts = empty()
    durations = [0.003] * 90 + [0.5] * 10
    for seconds in durations:
        counts[bucket(seconds)] += 1
    p50, p95 = percentile(counts, 0.5), percentile(counts, 0.95)
    assert p50 is not None and 0.002 < p50 <= 0.004
    assert p95 is not None and 0.4 < p95 <= 0.6
    assert percentile(empty(), 0.5) is None


def test_a_meter_counts_by_status_class_and_code_and_starts_again_once_taken():
    meter = Meter()
    meter.record("a", "127.0.0.1:1", "web.1", 200, "", 0.001, 0.002)
    meter.record("a", "127.0.0.1:1", "web.1", 503, "H12", 30.0, 30.0)
    meter.record("b", "127.0.0.1:1", "web.1", 404, "", 0.001, 0.001)  # the port, now b's
    taken = meter.take()
    assert [(t["app"], t["statuses"], t["codes"]) for t in taken] == [
        ("a", {"2xx": 1, "5xx": 1}, {"H12": 1}),
        ("b", {"4xx": 1}, {}),
    ]
    assert meter.take() == []
