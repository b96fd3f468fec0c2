"""One interval of one app's process type: what the router counted and the supervisor sampled.

Points add up: the router's tallies of each worker and each report, the samples of each process,
and ten-second points into a minute. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twelve.metrics import histogram


@dataclass
class Point:
    requests: dict[str, int] = field(default_factory=dict)  # by status class: "2xx": 12
    codes: dict[str, int] = field(default_factory=dict)  # the router's error codes: "H12": 1
    service: list[int] = field(default_factory=histogram.empty)  # request sent to response end
    total: list[int] = field(default_factory=histogram.empty)  # head read to response end
    service_sum: float = 0.0
    total_sum: float = 0.0
    cpu: float = 0.0  # CPU seconds the type's processes used in the interval
    memory: int = 0  # the most the type's processes held together at a sample (RSS, bytes)
    memory_limit: int = 0  # their limits together at that sample; 0 when they have none
    processes: int = 0  # the most processes of the type seen at a sample
    restarts: int = 0  # restarts in the interval
    crashes: int = 0  # exits nobody asked for in the interval

    @property
    def count(self) -> int:
        return sum(self.requests.values())

    def add_tally(self, tally: dict[str, Any]) -> None:
        """Add one router worker's tally (``twelve.router.metrics.Tally.to_json``)."""
        for key, value in dict(tally.get("statuses") or {}).items():
            self.requests[str(key)] = self.requests.get(str(key), 0) + int(value)
        for key, value in dict(tally.get("codes") or {}).items():
            self.codes[str(key)] = self.codes.get(str(key), 0) + int(value)
        histogram.add(self.service, list(tally.get("service") or []))
        histogram.add(self.total, list(tally.get("total") or []))
        self.service_sum += float(tally.get("service_sum") or 0.0)
        self.total_sum += float(tally.get("total_sum") or 0.0)

    def merge(self, other: Point) -> None:
        """Add a later or parallel interval's point into this one."""
        for mine, theirs in ((self.requests, other.requests), (self.codes, other.codes)):
            for key, value in theirs.items():
                mine[key] = mine.get(key, 0) + value
        histogram.add(self.service, other.service)
        histogram.add(self.total, other.total)
        self.service_sum += other.service_sum
        self.total_sum += other.total_sum
        self.cpu += other.cpu
        if other.memory >= self.memory:
            self.memory, self.memory_limit = other.memory, other.memory_limit
        self.processes = max(self.processes, other.processes)
        self.restarts += other.restarts
        self.crashes += other.crashes

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "codes": self.codes,
            "service": histogram.sparse(self.service),
            "total": histogram.sparse(self.total),
            "service_sum": round(self.service_sum, 6),
            "total_sum": round(self.total_sum, 6),
            "cpu": round(self.cpu, 6),
            "memory": self.memory,
            "memory_limit": self.memory_limit,
            "processes": self.processes,
            "restarts": self.restarts,
            "crashes": self.crashes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Point:
        point = cls()
        point.add_tally(
            {
                "statuses": data.get("requests"),
                "codes": data.get("codes"),
                "service": histogram.dense(data.get("service")),
                "total": histogram.dense(data.get("total")),
                "service_sum": data.get("service_sum"),
                "total_sum": data.get("total_sum"),
            }
        )
        point.cpu = float(data.get("cpu") or 0.0)
        point.memory = int(data.get("memory") or 0)
        point.memory_limit = int(data.get("memory_limit") or 0)
        point.processes = int(data.get("processes") or 0)
        point.restarts = int(data.get("restarts") or 0)
        point.crashes = int(data.get("crashes") or 0)
        return point
