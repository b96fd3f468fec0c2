"""A daemon starting next to processes an earlier one started: which it adopts, which it ends.

The keeper says what runs; the store says what each process was (its app, name and record). A
process both know, with the same start time, is adopted: the router directly, an app process by
the slot of its app, name and release when the formation comes back, an add-on server by its
server. The rest is ended.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from twelve.addons.selfrun import AdoptedServer
from twelve.compose import Graph
from twelve.keeper.client import KeptChild
from twelve.keeper.launcher import KeeperLauncher
from twelve.router_process import ROUTER_RECORD
from twelve.store import ProcessRecord
from twelve.supervisor.process import Adoption, from_meta


@dataclass
class Adopted:
    pids: set[int] = field(default_factory=set)
    scratch: set[Path] = field(default_factory=set)
    router: KeptChild | None = None
    services: dict[str, AdoptedServer] = field(default_factory=dict)  # by record name
    orphans: list[KeptChild] = field(default_factory=list)  # held, but no record names them
    oneoffs: list[KeptChild] = field(default_factory=list)  # run.N and scheduler.N, by their notes

    @property
    def count(self) -> int:
        return len(self.pids)


def adopt(graph: Graph, kept: list[KeptChild], launcher: KeeperLauncher) -> Adopted:
    """Offer every recorded process the keeper still holds to the supervisor (or the router)."""
    adopted = Adopted()
    by_pid = {child.pid: child for child in kept}
    records: list[ProcessRecord] = graph.store.processes.all()
    for record in records:
        child = by_pid.get(record.pid)
        if child is None or child.start_ticks != record.start_ticks:
            continue
        if (record.app, record.name) == ROUTER_RECORD:
            adopted.router = child
        elif record.app == "-twelve-":
            adopted.services[record.name] = AdoptedServer(child, partial(launcher.attach, child))
        else:
            release, port, scratch, cgroups = from_meta(child.meta)
            offer = Adoption(
                child,
                release,
                port,
                scratch,
                cgroups,
                process_age(child.start_ticks),
                partial(launcher.attach, child),
            )
            graph.supervisor.offer(record.app, record.name, offer)
            if scratch is not None:
                adopted.scratch.add(scratch.root)
        adopted.pids.add(child.pid)
    for child in kept:
        if child.meta.get("oneoff") and child.pid not in adopted.pids:
            # One-offs have no record: what the keeper noted at their start says what they are.
            adopted.oneoffs.append(child)
            _release, _port, scratch, _cgroups = from_meta(child.meta)
            if scratch is not None and child.running:
                adopted.scratch.add(scratch.root)
    taken = adopted.pids | {c.pid for c in adopted.oneoffs}
    adopted.orphans = [c for c in kept if c.pid not in taken and c.running]
    return adopted


def process_age(ticks: int) -> float:
    """Seconds since a process started ``ticks`` clock ticks after boot."""
    with open("/proc/uptime") as handle:
        uptime = float(handle.read().split()[0])
    return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))


def table_version(path: Path) -> int:
    """The version of the route table the router runs (0 when there is none)."""
    try:
        version = json.loads(path.read_text()).get("version", 0)
    except (OSError, ValueError, AttributeError):
        return 0
    return version if isinstance(version, int) else 0
