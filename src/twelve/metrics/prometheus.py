"""The recorder's running totals in Prometheus' text format, written by ``prometheus_client``.

Counters and histograms count from the daemon's start (Prometheus handles a restart's reset);
gauges are the last sample. Every name starts with ``twelve_``; ``app`` and ``type`` label them.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from twelve.metrics.recorder import Recorder
from twelve.router.metrics import BOUNDS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LABELS = ["app", "type"]


def _buckets(counts: list[int]) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip((*BOUNDS, float("inf")), counts, strict=True):
        running += count
        out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
    return out


class _RecorderCollector(Collector):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "twelve_router_requests", "Requests by status class", labels=[*_LABELS, "status"]
        )
        errors = CounterMetricFamily(
            "twelve_router_errors", "Requests the router answered, by error code",
            labels=[*_LABELS, "code"],
        )  # fmt: skip
        service = HistogramMetricFamily(
            "twelve_router_service_seconds",
            "From the request sent to the web process to the end of its response",
            labels=_LABELS,
        )
        total = HistogramMetricFamily(
            "twelve_router_response_seconds",
            "From the request's head read by the router to the end of the response",
            labels=_LABELS,
        )
        cpu = CounterMetricFamily("twelve_process_cpu_seconds", "CPU time used", labels=_LABELS)
        restarts = CounterMetricFamily("twelve_process_restarts", "Restarts", labels=_LABELS)
        crashes = CounterMetricFamily("twelve_process_crashes", "Unexpected exits", labels=_LABELS)
        memory = GaugeMetricFamily(
            "twelve_process_memory_rss_bytes", "Resident memory at the last sample", labels=_LABELS
        )
        limit = GaugeMetricFamily(
            "twelve_process_memory_limit_bytes", "Memory limit (0: none)", labels=_LABELS
        )
        running = GaugeMetricFamily("twelve_processes", "Processes running", labels=_LABELS)
        for (app, kind), point in sorted(self.recorder.totals.items()):
            labels = [app, kind]
            for status, count in sorted(point.requests.items()):
                requests.add_metric([*labels, status], count)
            for code, count in sorted(point.codes.items()):
                errors.add_metric([*labels, code], count)
            if point.count:
                service.add_metric(labels, _buckets(point.service), point.service_sum)
                total.add_metric(labels, _buckets(point.total), point.total_sum)
            cpu.add_metric(labels, point.cpu)
            restarts.add_metric(labels, point.restarts)
            crashes.add_metric(labels, point.crashes)
            sample = self.recorder.latest.get((app, kind))
            if sample is not None:
                memory.add_metric(labels, sample.memory)
                limit.add_metric(labels, sample.memory_limit)
                running.add_metric(labels, sample.processes)
        yield from (requests, errors, service, total, cpu, restarts, crashes, memory, limit)
        yield running


def exposition(recorder: Recorder) -> bytes:
    """Every metric, as ``GET /metrics`` answers."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_RecorderCollector(recorder))
    return generate_latest(registry)
