"""Alerts: a webhook event (resource ``alert``) when an app's web p95 or 5xx rate crosses the
threshold set with ``twelve alerts:set -a APP p95=500ms error-rate=5%``, and one when it is back
under. Judged over the last minute after every metrics sample; a minute without requests changes
nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from twelve.errors import UsageError
from twelve.metrics.recorder import Recorder
from twelve.metrics.summary import summarize
from twelve.store.alerts import AlertStore

WINDOW: Final = 60.0  # seconds judged
# What may be watched, and the summary figure it reads (milliseconds, or a fraction).
METRICS: Final = {"p95": "p95_ms", "p99": "p99_ms", "error-rate": "error_rate"}


def parse_threshold(metric: str, text: str) -> float | None:
    """``p95=500ms`` / ``2s`` (milliseconds), ``error-rate=5%`` / ``0.05`` (a fraction); ``off``
    removes it (None)."""
    if metric not in METRICS:
        raise UsageError(f"cannot alert on {metric!r}", "use p95=500ms, p99=2s or error-rate=5%")
    value = text.strip().lower()
    if value in {"off", "none", ""}:
        return None
    try:
        if metric == "error-rate":
            number = float(value[:-1]) / 100 if value.endswith("%") else float(value)
            if not 0 < number <= 1:
                raise ValueError
            return number
        if value.endswith("ms"):
            number = float(value[:-2])
        elif value.endswith("s"):
            number = float(value[:-1]) * 1000
        else:
            number = float(value)
        if not 0 < number <= 600_000:
            raise ValueError
        return number
    except ValueError:
        raise UsageError(
            f"{metric}={text!r} is not a threshold", "for example p95=500ms or error-rate=5%"
        ) from None


def describe(metric: str, threshold: float) -> str:
    return f"{threshold * 100:g}%" if metric == "error-rate" else f"{threshold:g}ms"


def judge(
    figures: dict[str, Any], thresholds: dict[str, float], firing: set[str]
) -> list[tuple[str, str, float, float]]:
    """``(metric, "fire" | "resolve", value, threshold)`` for each watched figure that crossed
    its threshold since ``firing`` (updated in place). Pure."""
    changes = []
    for metric, threshold in sorted(thresholds.items()):
        value = figures.get(METRICS[metric])
        if value is None:
            continue
        over = float(value) > threshold
        if over and metric not in firing:
            firing.add(metric)
            changes.append((metric, "fire", float(value), threshold))
        elif not over and metric in firing:
            firing.discard(metric)
            changes.append((metric, "resolve", float(value), threshold))
    return changes


class Alerts:
    def __init__(
        self,
        store: AlertStore,
        recorder: Recorder,
        notify: Callable[[str, str, str, dict[str, Any]], None],
        event: Callable[[str, str, str], None],
    ) -> None:
        self.store = store
        self.recorder = recorder
        self.notify = notify
        self.event = event
        self._firing: dict[str, set[str]] = {}

    def check(self) -> None:
        """Judge every app with thresholds over the last minute of its web processes."""
        now = self.recorder.clock()
        for app, thresholds in self.store.all().items():
            _resolution, points = self.recorder.points(app, now - WINDOW, "web")
            web = summarize(points, WINDOW).get("web")
            if not web or not web["requests"]:
                continue
            firing = self._firing.setdefault(app, set())
            for metric, action, value, threshold in judge(web, thresholds, firing):
                shown = describe(metric, value)
                limit = describe(metric, threshold)
                self.event(
                    app,
                    "alerts",
                    f"{metric} {shown} is {'over' if action == 'fire' else 'back under'} {limit}",
                )
                self.notify(
                    app,
                    "alert",
                    action,
                    {
                        "metric": metric,
                        "value": value,
                        "threshold": threshold,
                        "window_seconds": WINDOW,
                        "requests": web["requests"],
                    },
                )
