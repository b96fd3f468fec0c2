"""The router's request counts and latency histograms, reported by its workers as ``metrics``
events, read back from a load of known shape."""

from __future__ import annotations

import signal
from collections import Counter
from typing import Any

from twelve.metrics.histogram import add, empty, percentile
from twelve.router.metrics import BOUNDS


def _collect(r: Any, want: int) -> list[dict[str, Any]]:
    """Every tally the router reports until ``want`` requests are counted."""
    tallies: list[dict[str, Any]] = []
    counted = 0
    while counted < want:
        event = r.wait_line(lambda e: e.get("event") == "metrics")
        for tally in event["tallies"]:
            tallies.append(tally)
            counted += sum(tally["statuses"].values())
    assert counted == want
    return tallies


def _bucket_of(seconds: float) -> tuple[float, float]:
    low = 0.0
    for bound in BOUNDS:
        if seconds <= bound:
            return low, bound
        low = bound
    return low, float("inf")


def test_a_known_load_reads_back_exact_counts_and_percentiles_within_a_bucket(backends, router):
    """40 fast 200s, 10 500s and 10 slow (0.45 s) 200s over two web processes, and 3 requests to
    an app with none: each process's counts are exact, the H14s are the app's, and p50 and p95
    of the service time fall in the bucket of the true values."""
    one, two = backends("web.1"), backends("web.2")
    r = router(
        {
            "shape": {"backends": [one.route(), two.route()]},
            "idle": {"backends": []},
        },
        router_metrics_interval="0.2",
    )
    conn = r.connect()
    try:
        for path in ["/"] * 40 + ["/?status=500"] * 10 + ["/?sleep=0.45"] * 10:
            conn.request("GET", path, headers={"Host": "shape.localhost"})
            conn.getresponse().read()
    finally:
        conn.close()
    for _ in range(3):
        assert r.request("idle.localhost")[0] == 503
    tallies = _collect(r, 63)

    by_dyno: dict[tuple[str, str], Counter[str]] = {}
    service = empty()
    for tally in tallies:
        by_dyno.setdefault((tally["app"], tally["dyno"]), Counter()).update(tally["statuses"])
        if tally["app"] == "shape":
            add(service, tally["service"])
    shape = by_dyno[("shape", "web.1")] + by_dyno[("shape", "web.2")]
    assert shape == Counter({"2xx": 50, "5xx": 10})
    assert len(one.requests) == sum(by_dyno[("shape", "web.1")].values())
    assert len(two.requests) == sum(by_dyno[("shape", "web.2")].values())
    idle = [t for t in tallies if t["app"] == "idle"]
    assert sum(t["codes"].get("H14", 0) for t in idle) == 3
    assert sum(t["statuses"].get("5xx", 0) for t in idle) == 3
    assert sum(sum(t["service"]) for t in tallies if t["app"] == "shape") == 60

    p50, p95 = percentile(service, 0.5), percentile(service, 0.95)
    assert p50 is not None and p95 is not None
    low, high = _bucket_of(0.45)  # 57th of 60: one of the slow ones
    assert low < p95 <= high
    assert p50 < 0.4  # the fast ones: far from the slow bucket


def test_counts_of_the_last_interval_are_reported_as_a_worker_stops(backends, router):
    """A worker told to stop reports what it counted since its last report, so none is lost."""
    web = backends("web.1")
    r = router({"stopping": {"backends": [web.route()]}}, router_metrics_interval="60")
    for _ in range(5):
        assert r.request("stopping.localhost")[0] == 200
    r.stop(signal.SIGTERM)
    tallies = _collect(r, 5)
    assert tallies[0]["app"] == "stopping" and tallies[0]["dyno"] == "web.1"
