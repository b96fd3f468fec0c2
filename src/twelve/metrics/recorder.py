"""The daemon's metrics: router tallies and process samples gathered into ten-second points, written
to the store as each interval closes, and kept as running totals for Prometheus.

Bounded whatever the number of apps: at most ``max_series`` app and process type pairs are kept
(further ones are refused, and said once in the daemon's log), and the store keeps each for an hour
at ten seconds and a week at a minute.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from twelve.metrics.point import Point
from twelve.store.metrics import MetricStore

log = logging.getLogger("twelve")
STEP: Final = 10  # seconds of one point
Series = tuple[str, str]  # app, process type


@dataclass(frozen=True)
class Sample:
    """One sampling round of one app's process type (its processes added together)."""

    cpu: float  # CPU seconds used since the round before
    memory: int  # RSS, bytes
    memory_limit: int  # 0: no limit
    processes: int
    restarts: int  # since the round before
    crashes: int


def process_type(dyno: str) -> str:
    """``web.1`` → ``web``; the router's own answers for an app with no web process count as web."""
    return dyno.partition(".")[0] or "web"


class Recorder:
    def __init__(
        self, store: MetricStore, clock: Callable[[], float], max_series: int = 200
    ) -> None:
        self.store = store
        self.clock = clock
        self.max_series = max_series
        self._open: dict[Series, dict[int, Point]] = {}  # points not written yet
        self.totals: dict[Series, Point] = {}  # everything since the daemon started
        self.latest: dict[Series, Sample] = {}  # the last sample of each series
        self._refused = False

    def _point(self, series: Series) -> Point | None:
        if series not in self.totals:
            if len(self.totals) >= self.max_series:
                if not self._refused:
                    self._refused = True
                    log.warning(
                        "metrics: %d series kept already (TWELVE_METRICS_MAX_SERIES); "
                        "%s/%s and any further ones are not recorded",
                        self.max_series,
                        *series,
                    )
                return None
            self.totals[series] = Point()
        now = int(self.clock())
        return self._open.setdefault(series, {}).setdefault(now - now % STEP, Point())

    def add_tallies(self, tallies: Iterable[Any]) -> None:
        """A router worker's ``metrics`` event: the requests it counted since its last one."""
        for tally in tallies:
            if not isinstance(tally, dict) or not isinstance(tally.get("app"), str):
                continue
            series = (tally["app"], process_type(str(tally.get("dyno") or "")))
            point = self._point(series)
            if point is None:
                continue
            point.add_tally(tally)
            self.totals[series].add_tally(tally)

    def add_sample(self, app: str, kind: str, sample: Sample) -> None:
        series = (app, kind)
        point = self._point(series)
        if point is None:
            return
        taken = Point(
            cpu=sample.cpu,
            memory=sample.memory,
            memory_limit=sample.memory_limit,
            processes=sample.processes,
            restarts=sample.restarts,
            crashes=sample.crashes,
        )
        point.merge(taken)
        total = self.totals[series]
        total.cpu += sample.cpu
        total.restarts += sample.restarts
        total.crashes += sample.crashes
        self.latest[series] = sample

    def flush(self, *, everything: bool = False) -> None:
        """Write the points of intervals that have ended (every point, with ``everything``)."""
        now = self.clock()
        current = int(now) - int(now) % STEP
        for series, points in list(self._open.items()):
            closed = {at: p for at, p in points.items() if everything or at < current}
            if not closed:
                continue
            self.store.add(*series, closed, now)
            for at in closed:
                del points[at]
            if not points:
                del self._open[series]

    def forget(self, app: str) -> None:
        """An app destroyed: its series and rows go."""
        for table in (self._open, self.totals, self.latest):
            for series in [s for s in table if s[0] == app]:
                del table[series]
        self.store.forget(app)

    def points(
        self, app: str, since: float, kind: str | None = None
    ) -> tuple[int, list[tuple[str, int, Point]]]:
        """The resolution chosen for ``since`` (ten seconds within the hour, else a minute) and
        ``(type, start, point)`` from it on, the interval still open included."""
        resolution = 10 if self.clock() - since <= 3600 else 60
        found = self.store.points(app, resolution, since, kind)
        merged: dict[tuple[str, int], Point] = {(k, at): p for k, at, p in found}
        for (name, each), points in self._open.items():
            if name != app or (kind is not None and each != kind):
                continue
            for at, point in points.items():
                start = at - at % resolution
                if start < since - resolution:
                    continue
                into = merged.setdefault((each, start), Point())
                into.merge(point)
        ordered = sorted(merged.items(), key=lambda item: (item[0][1], item[0][0]))
        return resolution, [(k, at, p) for (k, at), p in ordered]
