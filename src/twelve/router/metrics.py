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
# read from them is within about half its value of the true one. Not ``Final``: mypyc builds a
# final tuple anew wherever it is named (``bucket`` spells them out instead).
BOUNDS: tuple[float, ...] = (
    0.001, 0.002, 0.004, 0.006, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.15, 0.25, 0.4, 0.6,
    1.0, 1.5, 2.5, 4.0, 6.0, 10.0, 15.0, 30.0, 60.0,
)  # fmt: skip
BUCKETS: Final = 24  # the bounds, and one past the last
SERVICE: Final = 6  # where a tally's service time histogram starts (after the status classes)
TOTAL: Final = 30  # and where its total time histogram starts (SERVICE + BUCKETS)


def bucket(seconds: float) -> int:
    """The index of the histogram bucket a duration falls in (a bound belongs to its bucket).

    The bounds of ``BOUNDS`` written out (the tests hold them equal): compiled, each test is one
    comparison of two doubles, and a request of a few milliseconds is placed after four.
    """
    if seconds <= 0.1:
        if seconds <= 0.001:
            return 0
        if seconds <= 0.002:
            return 1
        if seconds <= 0.004:
            return 2
        if seconds <= 0.006:
            return 3
        if seconds <= 0.01:
            return 4
        if seconds <= 0.015:
            return 5
        if seconds <= 0.025:
            return 6
        if seconds <= 0.04:
            return 7
        if seconds <= 0.06:
            return 8
        return 9
    if seconds <= 0.15:
        return 10
    if seconds <= 0.25:
        return 11
    if seconds <= 0.4:
        return 12
    if seconds <= 0.6:
        return 13
    if seconds <= 1.0:
        return 14
    if seconds <= 1.5:
        return 15
    if seconds <= 2.5:
        return 16
    if seconds <= 4.0:
        return 17
    if seconds <= 6.0:
        return 18
    if seconds <= 10.0:
        return 19
    if seconds <= 15.0:
        return 20
    if seconds <= 30.0:
        return 21
    if seconds <= 60.0:
        return 22
    return 23


class Tally:
    """What one web process of one app (or an app with none, for H14) served in an interval."""

    __slots__ = ("app", "codes", "counts", "dyno", "service_sum", "total_sum")

    def __init__(self, app: str, dyno: str) -> None:
        self.app = app
        self.dyno = dyno
        # One list, so a request is three increments of it: by status // 100 (0-5), then the
        # service time's bucket (from SERVICE), then the total's (from TOTAL).
        self.counts = [0] * (SERVICE + 2 * BUCKETS)
        self.codes: dict[str, int] = {}
        self.service_sum = 0.0  # seconds, for the histograms' sums
        self.total_sum = 0.0

    def to_json(self) -> dict[str, Any]:
        counts = self.counts
        return {
            "app": self.app,
            "dyno": self.dyno,
            "statuses": {f"{n}xx": counts[n] for n in range(1, SERVICE) if counts[n]},
            "codes": self.codes,
            "service": counts[SERVICE:TOTAL],
            "total": counts[TOTAL:],
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
        counts = tally.counts
        # ``x = x + 1``, not ``+=``: compiled, that is an add of two machine integers, where ``+=``
        # on a list item goes through the interpreter's generic in-place add.
        at = klass if 0 < klass < SERVICE else 5
        counts[at] = counts[at] + 1
        at = SERVICE + bucket(service)
        counts[at] = counts[at] + 1
        at = TOTAL + bucket(total)
        counts[at] = counts[at] + 1
        tally.service_sum += service
        tally.total_sum += total
        if code:
            tally.codes[code] = tally.codes.get(code, 0) + 1

    def take(self) -> list[dict[str, Any]]:
        """Every tally as JSON, the meter starting again from nothing."""
        taken = [t.to_json() for t in [*self.replaced, *self.tallies.values()]]
        self.tallies = {}
        self.replaced = []
        return taken
