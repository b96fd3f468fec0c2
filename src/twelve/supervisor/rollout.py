"""What a rollout does to a formation, decided apart from doing it. Pure.

A rollout starts the processes whose spec changed (or that are asked to be replaced) beside the
running ones, and retires the old ones only once the new web processes are healthy; a process
whose spec is unchanged keeps running through it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twelve.supervisor.process import ProcessSpec


@dataclass(frozen=True)
class Rollout:
    """The names a rollout starts anew, and those it retires once the new ones are live."""

    start: tuple[str, ...]
    retire: tuple[str, ...]


def plan_rollout(
    running: Mapping[str, ProcessSpec], wanted: Sequence[ProcessSpec], replace: Collection[str] = ()
) -> Rollout:
    """The rollout from the ``running`` formation (specs by name) to the ``wanted`` one."""
    wanted_names = {spec.name for spec in wanted}
    start = tuple(
        spec.name
        for spec in wanted
        if spec.name not in running or running[spec.name] != spec or spec.name in replace
    )
    retire = tuple(name for name in running if name not in wanted_names or name in start)
    return Rollout(start, retire)


def goes_live(gated: bool, web_healthy: Sequence[bool]) -> bool:
    """Whether the new processes replace the old: every new web process healthy, unless the
    rollout is not gated (a formation brought back after a daemon restart, when nothing else
    serves and the restart policy keeps trying)."""
    return not gated or all(web_healthy)
