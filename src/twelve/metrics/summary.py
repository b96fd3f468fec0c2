"""What ``twelve metrics`` shows of a window of points: per process type, the latency percentiles,
requests per second, the 5xx rate, memory and CPU. Pure."""

from __future__ import annotations

from typing import Any

from twelve.metrics import histogram
from twelve.metrics.point import Point


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def summarize(points: list[tuple[str, int, Point]], seconds: float) -> dict[str, dict[str, Any]]:
    """Each type's figures over ``points`` covering ``seconds``; memory is the latest sample's."""
    merged: dict[str, Point] = {}
    latest: dict[str, Point] = {}
    for kind, _at, point in points:
        merged.setdefault(kind, Point()).merge(point)
        if point.processes:
            latest[kind] = point
    window = max(seconds, 1.0)
    out: dict[str, dict[str, Any]] = {}
    for kind, point in sorted(merged.items()):
        count = point.count
        errors = point.requests.get("5xx", 0)
        last = latest.get(kind)
        out[kind] = {
            "requests": count,
            "requests_per_second": round(count / window, 3),
            "status": dict(sorted(point.requests.items())),
            "codes": dict(sorted(point.codes.items())),
            "error_rate": round(errors / count, 4) if count else 0.0,
            "p50_ms": _ms(histogram.percentile(point.service, 0.50)),
            "p95_ms": _ms(histogram.percentile(point.service, 0.95)),
            "p99_ms": _ms(histogram.percentile(point.service, 0.99)),
            "memory": last.memory if last else None,
            "memory_limit": (last.memory_limit or None) if last else None,
            "processes": last.processes if last else 0,
            "cpu": round(point.cpu / window, 4),  # cores, on average
            "restarts": point.restarts,
            "crashes": point.crashes,
        }
    return out


def chart(points: list[tuple[str, int, Point]], resolution: int) -> list[dict[str, Any]]:
    """One row per point for charts: its start, type, p50/p95/p99, requests/s by status class,
    memory and CPU (cores)."""
    rows = []
    for kind, at, point in points:
        rows.append(
            {
                "at": at,
                "type": kind,
                "p50_ms": _ms(histogram.percentile(point.service, 0.50)),
                "p95_ms": _ms(histogram.percentile(point.service, 0.95)),
                "p99_ms": _ms(histogram.percentile(point.service, 0.99)),
                "rps": {k: round(v / resolution, 3) for k, v in sorted(point.requests.items())},
                "memory": point.memory if point.processes else None,
                "cpu": round(point.cpu / resolution, 4),
            }
        )
    return rows
