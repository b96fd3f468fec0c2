"""Memory and CPU limits per process type: parsing (pure) and cgroups (v2, else v1, else rlimits).

A process's cgroups are made under the daemon's own (``twelve-HOME/APP/PROCESS``, HOME a short
hash of ``TWELVE_HOME``, so that two installations on one machine never share an app's), joined
by the process itself before its command runs (see launch.py), read for OOM kills when it exits,
and removed when it is gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from twelve.errors import UsageError
from twelve.settings_values import parse_size
from twelve.values import Limits

CGROUP_ROOT = Path("/sys/fs/cgroup")
CFS_PERIOD_US = 100_000


def parse_limits(args: list[str]) -> Limits:
    """``memory=512M cpu=0.5`` (``memory=0`` / ``cpu=0`` remove a limit)."""
    memory: int | None = None
    cpu: float | None = None
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            raise UsageError(f"{arg!r} is not KEY=VALUE", "for example: memory=512M cpu=0.5")
        if key == "memory":
            try:
                memory = parse_size("memory", value)
            except Exception:
                raise UsageError(
                    f"memory={value!r} is not a size", "for example 512M or 1G"
                ) from None
            if 0 < memory < 16 << 20:
                raise UsageError("a memory limit under 16M would not let a process start")
        elif key == "cpu":
            if not re.fullmatch(r"\d+(\.\d+)?", value):
                raise UsageError(f"cpu={value!r} is not a number of cores", "for example 0.5 or 2")
            cpu = float(value)
        else:
            raise UsageError(f"unknown limit {key!r}", "use memory= and cpu=")
    return Limits(memory, cpu)


@dataclass(frozen=True)
class ProcessCgroups:
    """The cgroup directories of one process (one per v1 controller, or one v2 directory)."""

    dirs: tuple[Path, ...]
    version: int

    @property
    def procs_files(self) -> tuple[Path, ...]:
        return tuple(d / "cgroup.procs" for d in self.dirs)

    def oom_killed(self) -> bool:
        """Whether the kernel killed something here for exceeding the memory limit."""
        for directory in self.dirs:
            for name in ("memory.events", "memory.oom_control"):
                path = directory / name
                with contextlib.suppress(OSError):
                    for line in path.read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and int(value or 0) > 0:
                            return True
        return False

    def peak_memory(self) -> int | None:
        for directory in self.dirs:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                with contextlib.suppress(OSError, ValueError):
                    return int((directory / name).read_text())
        return None

    def remove(self) -> None:
        for directory in self.dirs:
            with contextlib.suppress(OSError):
                directory.rmdir()
            with contextlib.suppress(OSError):
                directory.parent.rmdir()  # the app's directory, once its last process is gone


def cgroup_name(home: Path) -> str:
    """The cgroup directory of the installation whose home is ``home``."""
    return f"twelve-{hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:8]}"


class CgroupManager:
    """Makes per-process cgroups where the machine lets the daemon, and says which way it limits."""

    def __init__(
        self, root: Path = CGROUP_ROOT, pids_max: int | None = None, name: str = "twelve"
    ) -> None:
        self.root = root
        self.name = name  # the directory every app's cgroups are made under
        self.pids_max = pids_max  # every process group's task cap: a fork bomb stops there
        self.version, self.bases = self._detect()

    def _own_path(self, controller: str) -> str:
        """The daemon's own cgroup path for a v1 controller ('' for v2)."""
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _id, controllers, path = line.split(":", 2)
            if controller in controllers.split(",") or (controller == "" and controllers == ""):
                return path.lstrip("/")
        return ""

    def _detect(self) -> tuple[int, dict[str, Path]]:
        if os.geteuid() != 0:
            return 0, {}
        if (self.root / "cgroup.controllers").is_file():
            base = self.root / self._own_path("") / self.name
            return 2, {"": base}
        bases = {}
        for controller in ("memory", "cpu", "pids"):
            mount = self.root / controller
            if (mount / "cgroup.procs").is_file():
                bases[controller] = mount / self._own_path(controller) / self.name
        return (1, bases) if bases else (0, {})

    @property
    def mode(self) -> str:
        return {2: "cgroup v2", 1: "cgroup v1"}.get(self.version, "rlimits")

    def create(self, app: str, process: str, limits: Limits) -> ProcessCgroups | None:
        """Cgroups for one process with ``limits`` applied; None when cgroups are unavailable."""
        pids = self.pids_max
        if self.version == 0 or (limits.memory is None and limits.cpu is None and not pids):
            return None
        dirs = []
        try:
            if self.version == 2:
                directory = self.bases[""] / app / process
                self._enable_v2(directory)
                directory.mkdir(parents=True, exist_ok=True)
                if limits.memory:
                    (directory / "memory.max").write_text(str(limits.memory))
                    with contextlib.suppress(OSError):
                        (directory / "memory.swap.max").write_text("0")
                if pids:
                    with contextlib.suppress(OSError):
                        (directory / "pids.max").write_text(str(pids))
                if limits.cpu:
                    (directory / "cpu.max").write_text(
                        f"{int(limits.cpu * CFS_PERIOD_US)} {CFS_PERIOD_US}"
                    )
                dirs.append(directory)
            else:
                if limits.memory and "memory" in self.bases:
                    directory = self.bases["memory"] / app / process
                    directory.mkdir(parents=True, exist_ok=True)
                    (directory / "memory.limit_in_bytes").write_text(str(limits.memory))
                    with contextlib.suppress(OSError):
                        (directory / "memory.memsw.limit_in_bytes").write_text(str(limits.memory))
                    dirs.append(directory)
                if pids and "pids" in self.bases:
                    directory = self.bases["pids"] / app / process
                    directory.mkdir(parents=True, exist_ok=True)
                    (directory / "pids.max").write_text(str(pids))
                    dirs.append(directory)
                if limits.cpu and "cpu" in self.bases:
                    directory = self.bases["cpu"] / app / process
                    directory.mkdir(parents=True, exist_ok=True)
                    (directory / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
                    (directory / "cpu.cfs_quota_us").write_text(
                        str(int(limits.cpu * CFS_PERIOD_US))
                    )
                    dirs.append(directory)
        except OSError:
            for directory in dirs:
                with contextlib.suppress(OSError):
                    directory.rmdir()
            return None
        return ProcessCgroups(tuple(dirs), self.version) if dirs else None

    def _enable_v2(self, leaf: Path) -> None:
        """Turn on the memory and cpu controllers down to ``leaf``'s parent."""
        path = self.root
        for part in leaf.relative_to(self.root).parts[:-1]:
            with contextlib.suppress(OSError):
                (path / "cgroup.subtree_control").write_text("+memory +cpu +pids")
            path = path / part
            path.mkdir(exist_ok=True)
        with contextlib.suppress(OSError):
            (path / "cgroup.subtree_control").write_text("+memory +cpu +pids")
