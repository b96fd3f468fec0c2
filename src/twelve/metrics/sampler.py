"""Every ``TWELVE_METRICS_SAMPLE_INTERVAL`` (10 s): each running process's CPU time, memory and
restarts, added to the recorder per app and process type; and Heroku's ``log-runtime-metrics``
lines in the stream of the apps that enabled the feature.

Usage is read from the process's cgroup where it has one (which counts every process it started,
even one that left its group), else from /proc, adding up the processes of its group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from twelve.metrics.recorder import Recorder, Sample
from twelve.supervisor.states import State

if TYPE_CHECKING:
    from twelve.supervisor.manager import Supervisor
    from twelve.supervisor.process import Supervised

_TICKS: Final = os.sysconf("SC_CLK_TCK")
_PAGE: Final = os.sysconf("SC_PAGE_SIZE")
_MB: Final = 1 << 20


@dataclass(frozen=True)
class Usage:
    cpu: float  # CPU seconds since the process started
    rss: int  # bytes


def proc_groups(proc: Path = Path("/proc")) -> dict[int, Usage]:
    """CPU seconds and RSS of every process group, adding up its live processes' /proc/PID/stat."""
    groups: dict[int, Usage] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # gone since the listing
            continue
        fields = text[text.rfind(")") + 2 :].split()
        if len(fields) < 22:
            continue
        pgrp = int(fields[2])
        cpu = (int(fields[11]) + int(fields[12])) / _TICKS
        rss = int(fields[21]) * _PAGE
        seen = groups.get(pgrp)
        groups[pgrp] = Usage(cpu + seen.cpu, rss + seen.rss) if seen else Usage(cpu, rss)
    return groups


def cgroup_usage(dirs: tuple[Path, ...]) -> tuple[float | None, int | None]:
    """CPU seconds and RSS of a process's cgroup (v1 or v2), each None when it cannot be read."""
    cpu: float | None = None
    rss: int | None = None
    for directory in dirs:
        with contextlib.suppress(OSError, ValueError):
            cpu = int((directory / "cpuacct.usage").read_text()) / 1e9  # v1, nanoseconds
        with contextlib.suppress(OSError, ValueError):
            for line in (directory / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":  # v2
                    cpu = int(value) / 1e6
        with contextlib.suppress(OSError, ValueError):
            stat = dict(
                line.split(" ", 1) for line in (directory / "memory.stat").read_text().splitlines()
            )
            # v1's total_rss counts the hierarchy below; v2's anon is the same memory.
            for key in ("total_rss", "rss", "anon"):
                if key in stat:
                    rss = int(stat[key])
                    break
    return cpu, rss


def runtime_lines(
    name: str, usage: Usage, limit: int, load: tuple[float, float, float]
) -> list[str]:
    """Heroku's ``log-runtime-metrics`` lines for one process (load: its CPU use, in cores,
    averaged over 1, 5 and 15 minutes)."""
    quota = f" sample#memory_quota={limit / _MB:.2f}MB" if limit else ""
    return [
        f"source={name} sample#load_avg_1m={load[0]:.2f} sample#load_avg_5m={load[1]:.2f}"
        f" sample#load_avg_15m={load[2]:.2f}",
        f"source={name} sample#memory_total={usage.rss / _MB:.2f}MB"
        f" sample#memory_rss={usage.rss / _MB:.2f}MB{quota}",
    ]


class Sampler:
    def __init__(
        self,
        supervisor: Supervisor,
        recorder: Recorder,
        interval: float,
        runtime_metrics: Callable[[str], bool],
        event: Callable[[str, str, str], None],
        after_round: Callable[[], None] = lambda: None,
    ) -> None:
        self.supervisor = supervisor
        self.recorder = recorder
        self.interval = interval
        self.runtime_metrics = runtime_metrics  # whether an app enabled log-runtime-metrics
        self.event = event
        self.after_round = after_round  # alerts are judged on what the round added
        self._cpu: dict[tuple[Supervised, int], float] = {}  # CPU seconds seen, by process life
        self._restarts: dict[Supervised, tuple[int, int]] = {}  # restarts, crashes
        self._load: dict[Supervised, tuple[float, float, float]] = {}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.sample()
            self.recorder.flush()
            self.after_round()

    def sample(self) -> None:
        """One round over every app's running processes."""
        groups = proc_groups()
        seen_cpu: dict[tuple[Supervised, int], float] = {}
        seen: set[Supervised] = set()
        for app, procs in self.supervisor.current().items():
            enabled = self.runtime_metrics(app)
            types: dict[str, list[tuple[Supervised, Usage | None, float]]] = {}
            for proc in procs:
                seen.add(proc)
                usage = self._usage(proc, groups)
                used = 0.0
                if usage is not None and proc.child is not None:
                    key = (proc, proc.child.pid)
                    used = max(0.0, usage.cpu - self._cpu.get(key, usage.cpu))
                    if key not in self._cpu:  # first seen: its CPU time since start counts
                        used = usage.cpu
                    seen_cpu[key] = usage.cpu
                types.setdefault(proc.spec.type, []).append((proc, usage, used))
                if enabled and usage is not None:
                    load = self._average(proc, used)
                    limit = proc.spec.limits.memory or 0
                    for line in runtime_lines(proc.spec.name, usage, limit, load):
                        self.event(app, proc.spec.name, line)
            for kind, members in types.items():
                self.recorder.add_sample(app, kind, self._sample(members))
        self._cpu = seen_cpu
        self._restarts = {p: n for p, n in self._restarts.items() if p in seen}
        self._load = {p: v for p, v in self._load.items() if p in seen}

    def _usage(self, proc: Supervised, groups: dict[int, Usage]) -> Usage | None:
        child = proc.child
        if child is None or proc.state not in (State.UP, State.STARTING):
            return None
        from_proc = groups.get(child.pgid)
        cpu, rss = cgroup_usage(proc.cgroups.dirs) if proc.cgroups is not None else (None, None)
        if cpu is None and rss is None:
            return from_proc
        return Usage(
            cpu if cpu is not None else (from_proc.cpu if from_proc else 0.0),
            rss if rss is not None else (from_proc.rss if from_proc else 0),
        )

    def _average(self, proc: Supervised, used: float) -> tuple[float, float, float]:
        """CPU use as a load average: decayed over 1, 5 and 15 minutes, as the kernel's is."""
        cores = used / self.interval
        before = self._load.get(proc, (cores, cores, cores))
        averaged = tuple(
            old + (cores - old) * min(1.0, self.interval / span)
            for old, span in zip(before, (60.0, 300.0, 900.0), strict=True)
        )
        self._load[proc] = (averaged[0], averaged[1], averaged[2])
        return self._load[proc]

    def _sample(self, members: list[tuple[Supervised, Usage | None, float]]) -> Sample:
        memory = limit = running = restarts = crashes = 0
        cpu = 0.0
        for proc, usage, used in members:
            cpu += used
            if usage is not None:
                running += 1
                memory += usage.rss
                limit += proc.spec.limits.memory or 0
            # Every restart follows a crash; a crashed process waiting for its restart is one too.
            crashed = proc.restarts + (1 if proc.state is State.CRASHED else 0)
            before_restarts, before_crashed = self._restarts.get(proc, (0, 0))
            restarts += max(0, proc.restarts - before_restarts)
            crashes += max(0, crashed - before_crashed)
            self._restarts[proc] = (proc.restarts, crashed)
        return Sample(cpu, memory, limit if running else 0, running, restarts, crashes)
