"""Request counts and latency histograms per app and web process, kept by each router worker.

Each finished request adds to the tally of its app and web process: one count by status class
(1xx to 5xx), one by router error code (H10, H12, ...) when the router answered, and one bucket in
each of two fixed-bucket histograms, the service time (request sent to the app until the end of
the response) and the total (the request's head read until the end of the response). Nothing is
written per request: the worker takes the tallies every ``TWELVE_ROUTER_METRICS_INTERVAL`` seconds
and writes them as one ``metrics`` event line, which the daemon adds to its store.

A request the router answers without an app (no app claims its Host) is counted nowhere: it has no
app to count for.
"""

from __future__ import annotations

from typing import Any, Final

# Upper bounds of the histogram buckets, in seconds (a last bucket takes everything slower). Fixed,
# so tallies from every worker and every interval add up bucket by bucket; spaced so a percentile
# read from them is within about half its value of the true one.
BOUNDS: Final = (
    0.001, 0.002, 0.004, 0.006, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.15, 0.25, 0.4, 0.6,
    1.0, 1.5, 2.5, 4.0, 6.0, 10.0, 15.0, 30.0, 60.0,
)  # fmt: skip
BUCKETS: Final = 24  # the bounds, and one past the last


def bucket(seconds: float) -> int:
    """The index of the histogram bucket a duration falls in (a bound belongs to its bucket)."""
    low = 0
    high = len(BOUNDS)
    while low < high:  # a binary search: five comparisons for the 23 bounds
        middle = (low + high) >> 1
        if BOUNDS[middle] < seconds:
            low = middle + 1
        else:
            high = middle
    return low


class Tally:
    """What one web process of one app (or an app with none, for H14) served in an interval."""

    __slots__ = ("app", "codes", "dyno", "service", "service_sum", "statuses", "total", "total_sum")

    def __init__(self, app: str, dyno: str) -> None:
        self.app = app
        self.dyno = dyno
        self.statuses = [0, 0, 0, 0, 0, 0]  # by status // 100; index 0 unused
        self.codes: dict[str, int] = {}
        self.service = [0] * BUCKETS
        self.total = [0] * BUCKETS
        self.service_sum = 0.0  # seconds, for the histograms' sums
        self.total_sum = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "dyno": self.dyno,
            "statuses": {f"{n}xx": c for n, c in enumerate(self.statuses) if c},
            "codes": self.codes,
            "service": self.service,
            "total": self.total,
            "service_sum": round(self.service_sum, 6),
            "total_sum": round(self.total_sum, 6),
        }


class Meter:
    """The tallies of one worker since they were last taken."""

    __slots__ = ("replaced", "tallies")

    def __init__(self) -> None:
        self.tallies: dict[str, Tally] = {}
        self.replaced: list[Tally] = []

    def record(
        self, app: str, key: str, dyno: str, status: int, code: str, service: float, total: float
    ) -> None:
        """Count one finished request; ``key`` names its web process (its pool key), ``code``
        is the router's error code or empty."""
        tally = self.tallies.get(key)
        if tally is None or tally.app != app or tally.dyno != dyno:
            if tally is not None:  # the port's process of before: its counts are kept apart
                self.replaced.append(tally)
            tally = Tally(app, dyno)
            self.tallies[key] = tally
        klass = status // 100
        tally.statuses[klass if 0 < klass < 6 else 5] += 1
        if code:
            tally.codes[code] = tally.codes.get(code, 0) + 1
        tally.service[bucket(service)] += 1
        tally.total[bucket(total)] += 1
        tally.service_sum += service
        tally.total_sum += total

    def take(self) -> list[dict[str, Any]]:
        """Every tally as JSON, the meter starting again from nothing."""
        taken = [t.to_json() for t in [*self.replaced, *self.tallies.values()]]
        self.tallies = {}
        self.replaced = []
        return taken
