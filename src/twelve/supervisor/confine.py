"""What confines a process: its app's user, its cgroups, or an rlimit when cgroups are not there."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from twelve.supervisor.isolation import Users
from twelve.supervisor.launch import Confinement, Identity
from twelve.supervisor.limits import CgroupManager, ProcessCgroups
from twelve.values import Limits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Placement:
    confinement: Confinement
    cgroups: ProcessCgroups | None


class Confiner:
    """Composes per-app users and per-process limits for spawn."""

    def __init__(self, users: Users, cgroups: CgroupManager) -> None:
        self.users = users
        self.cgroups = cgroups

    @classmethod
    def off(cls) -> Confiner:
        """No users and no limits (tests of pure supervision, non-root laptops)."""
        manager = CgroupManager.__new__(CgroupManager)
        manager.version, manager.bases, manager.pids_max = 0, {}, None
        return cls(Users(enabled=False), manager)

    def identity(self, app: str) -> Identity | None:
        return self.users.identity(app)

    def place(self, app: str, process: str, limits: Limits) -> Placement:
        """The confinement of one process start; its cgroups are made now."""
        identity = self.users.identity(app)
        groups = self.cgroups.create(app, process, limits)
        rlimit = None
        if limits.memory and (groups is None or not _limits_memory(groups)):
            rlimit = max(1, limits.memory // 1024)
        confinement = Confinement(
            identity=identity,
            cgroup_procs=groups.procs_files if groups else (),
            address_space_kib=rlimit,
        )
        return Placement(confinement, groups)


def _limits_memory(groups: ProcessCgroups) -> bool:
    return groups.version == 2 or any((d / "memory.limit_in_bytes").exists() for d in groups.dirs)
