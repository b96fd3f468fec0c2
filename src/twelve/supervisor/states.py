"""The process lifecycle as named states and the transitions allowed between them. Pure."""

from __future__ import annotations

from enum import Enum

from twelve.errors import Conflict


class State(Enum):
    STARTING = "starting"  # spawned, not yet healthy (web: has not bound $PORT)
    UP = "up"  # healthy; a web process is in the route table
    DRAINING = "draining"  # out of the route table, finishing in-flight requests
    STOPPING = "stopping"  # SIGTERM sent, SIGKILL after the grace period
    EXITED = "exited"  # stopped on purpose
    CRASHED = "crashed"  # exited on its own; waits for its next attempt


_ALLOWED: dict[State, frozenset[State]] = {
    State.STARTING: frozenset({State.UP, State.STOPPING, State.CRASHED}),
    State.UP: frozenset({State.DRAINING, State.STOPPING, State.CRASHED}),
    State.DRAINING: frozenset({State.STOPPING, State.CRASHED, State.EXITED}),
    State.STOPPING: frozenset({State.EXITED, State.CRASHED}),
    State.CRASHED: frozenset({State.STARTING, State.EXITED}),
    State.EXITED: frozenset(),
}


def transition(current: State, new: State) -> State:
    """Return ``new`` if the lifecycle allows ``current`` → ``new``; raise Conflict otherwise."""
    if new not in _ALLOWED[current]:
        raise Conflict(f"a process cannot go from {current.value} to {new.value}")
    return new


def is_running(state: State) -> bool:
    """Whether a process in ``state`` may still hold its port and its group."""
    return state in {State.STARTING, State.UP, State.DRAINING, State.STOPPING}
