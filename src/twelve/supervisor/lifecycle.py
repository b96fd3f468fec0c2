"""The decisions of one supervised process slot, as a pure machine over typed events.

The driver (``supervisor.process``) does the I/O: it carries out each action and feeds back what
happened as an event. Time comes from the clock the machine is given, so a test scripts a whole
history (crash, backoff, a stop that times out) without processes and without sleeping.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from twelve.supervisor.clock import Clock
from twelve.supervisor.policy import Backoff, Restarts
from twelve.supervisor.spawn import describe_exit
from twelve.supervisor.states import State

# -- events: what happened ----------------------------------------------------------------------


@dataclass(frozen=True)
class Spawned:
    """The process started (or an earlier daemon's process was adopted)."""


@dataclass(frozen=True)
class HealthResult:
    ok: bool


@dataclass(frozen=True)
class Exited:
    """The leader exited; ``memory_limit`` describes the limit when the kernel killed it for it."""

    code: int | None
    memory_limit: str | None = None
    peak_memory: int | None = None


@dataclass(frozen=True)
class GroupGone:
    """No process of the group is left (after a stop signal)."""


@dataclass(frozen=True)
class Drained:
    """The router has no request left on the process's port."""


@dataclass(frozen=True)
class CleanedUp:
    """The group, port, cgroups and scratch directory of the last attempt are released."""


@dataclass(frozen=True)
class TimerFired:
    purpose: str  # RESTART, KILL or GIVE_UP


@dataclass(frozen=True)
class StopWanted:
    """The desired state changed: this slot is to stop for good."""


Event = Spawned | HealthResult | Exited | GroupGone | Drained | CleanedUp | TimerFired | StopWanted

RESTART = "restart"
KILL = "kill"
GIVE_UP = "give up"  # a group SIGKILL did not end within KILL_WAIT is left to the kernel
KILL_WAIT = 5.0

# -- actions: what to do ------------------------------------------------------------------------


@dataclass(frozen=True)
class Enter:
    state: State


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Spawn:
    """Start the process; the driver answers with Spawned."""


@dataclass(frozen=True)
class WatchHealth:
    deadline: float  # monotonic; the driver answers with HealthResult


@dataclass(frozen=True)
class Abandon:
    """Stop a process that never became healthy (its exit comes as Exited)."""


@dataclass(frozen=True)
class ResolveHealth:
    ok: bool


@dataclass(frozen=True)
class Drain:
    """Wait until the router has no request on the port; the driver answers with Drained."""


@dataclass(frozen=True)
class Signal:
    signum: int  # to the whole group; after SIGTERM the driver answers GroupGone when empty


@dataclass(frozen=True)
class SetTimer:
    delay: float
    purpose: str


@dataclass(frozen=True)
class Cleanup:
    """Release what the last attempt held; the driver answers with CleanedUp."""


@dataclass(frozen=True)
class Finish:
    """The slot's life is over."""


Action = (
    Enter
    | Say
    | Spawn
    | WatchHealth
    | Abandon
    | ResolveHealth
    | Drain
    | Signal
    | SetTimer
    | Cleanup
    | Finish
)


@dataclass(frozen=True)
class Policy:
    boot_timeout: float
    stop_timeout: float
    backoff: Backoff


class Lifecycle:
    """One slot: started, health-gated, restarted by the policy until a stop is wanted."""

    def __init__(self, command: str, is_web: bool, policy: Policy, clock: Clock) -> None:
        self.command = command
        self.is_web = is_web
        self.policy = policy
        self.clock = clock
        self.state = State.STARTING
        self.restarts_policy = Restarts(policy.backoff)
        self.restarts = 0
        self.started_at = 0.0  # monotonic time of the current attempt's start
        self.next_attempt: float | None = None  # wall-clock time of the next start when crashed
        self.last_exit: str | None = None
        self.finished = False
        self._stopping = False
        self._phase = "spawning"  # spawning, running, stopping, cleanup, waiting, done
        self._health_resolved = False
        self._signalled = False
        self._killed = False
        self._exit_code: int | None = None
        self._exited = False
        self._group_gone = False

    @property
    def failures(self) -> int:
        return self.restarts_policy.failures

    def begin(self) -> list[Action]:
        return self._spawn()

    def adopt(self, age: float) -> list[Action]:
        """Take over a process an earlier daemon started ``age`` seconds ago: it runs, its health
        is checked, its exit is a crash as any other."""
        self._spawn()
        actions = self._spawned()
        self.started_at = self.clock.monotonic() - age
        if isinstance(actions[0], WatchHealth):
            actions = [WatchHealth(self.clock.monotonic() + self.policy.boot_timeout)]
        return [Say("Taken over by a new twelve daemon"), *actions]

    def on(self, event: Event) -> list[Action]:
        if self.finished:
            return []
        if isinstance(event, Spawned):
            return self._spawned()
        if isinstance(event, HealthResult):
            return self._health(event.ok)
        if isinstance(event, Exited):
            return self._exit(event)
        if isinstance(event, GroupGone):
            self._group_gone = True
            return self._stop_done()
        if isinstance(event, Drained):
            return self._terminate()
        if isinstance(event, CleanedUp):
            return self._cleaned_up()
        if isinstance(event, TimerFired):
            return self._timer(event.purpose)
        return self._stop_wanted()

    # -- the parts ----------------------------------------------------------------------------

    def _spawn(self) -> list[Action]:
        self._phase = "spawning"
        self._health_resolved = False
        self._signalled = self._killed = self._exited = self._group_gone = False
        self._exit_code = None
        return [Say(f"Starting process with command `{self.command}`"), Spawn()]

    def _spawned(self) -> list[Action]:
        self._phase = "running"
        self.started_at = self.clock.monotonic()
        if self._stopping:  # the stop came while it was starting
            return self._terminate()
        if self.is_web:
            return [WatchHealth(self.started_at + self.policy.boot_timeout)]
        return self._health(True)

    def _resolve(self, ok: bool) -> list[Action]:
        if self._health_resolved:
            return []
        self._health_resolved = True
        return [ResolveHealth(ok)]

    def _health(self, ok: bool) -> list[Action]:
        if self._health_resolved or self._phase != "running":
            return self._resolve(False)
        if ok and not self._stopping:
            self.state = State.UP
            return [Enter(State.UP), *self._resolve(True)]
        if not ok and not self._stopping:
            return [
                Say(
                    f"Error R10 (Boot timeout): web process did not become healthy within "
                    f"{self.policy.boot_timeout:.0f} seconds of launch"
                ),
                Abandon(),
                *self._resolve(False),
            ]
        return self._resolve(ok)

    def _exit(self, event: Exited) -> list[Action]:
        self._exited = True
        self._exit_code = event.code
        actions = self._resolve(False)
        if self._stopping:
            if self._phase == "stopping":
                return actions + self._stop_done()
            if self._phase == "running" and not self._signalled:
                return actions  # draining: the stop goes on once the router is done
            return actions
        uptime = self.clock.monotonic() - self.started_at
        self.last_exit = describe_exit(event.code)
        delay = self.restarts_policy.exited(uptime)
        # Known as it crashes, so ``ps`` never shows a crash without its next attempt.
        self.next_attempt = self.clock.time() + delay
        self.state = State.CRASHED
        actions += [Enter(State.CRASHED), Say(f"Process {self.last_exit}")]
        if event.memory_limit is not None:
            self.last_exit += " (memory limit)"
            peak = event.peak_memory
            seen = f", peak {peak / (1 << 20):.1f}M" if peak else ""
            actions.append(
                Say(
                    f"Error R15 (Memory quota vastly exceeded): killed by the kernel for using "
                    f"more memory than its limit ({event.memory_limit}{seen})"
                )
            )
        self._phase = "cleanup"
        return [*actions, Cleanup()]

    def _cleaned_up(self) -> list[Action]:
        if self._stopping:
            return self._finish()
        delay = self.restarts_policy.delay
        self.next_attempt = self.clock.time() + delay
        self._phase = "waiting"
        actions: list[Action] = []
        if delay:
            actions.append(Say(f"Restarting in {delay:.0f}s (attempt {self.failures})"))
        return [*actions, SetTimer(delay, RESTART)]

    def _timer(self, purpose: str) -> list[Action]:
        if purpose in {KILL, GIVE_UP}:
            if self._phase != "stopping" or self._group_gone:
                return []
            if purpose == GIVE_UP:
                self._group_gone = True
                return self._stop_done()
            self._killed = True
            return [Signal(signal.SIGKILL), SetTimer(KILL_WAIT, GIVE_UP)]
        if self._phase != "waiting" or self._stopping:
            return []
        self.restarts += 1
        self.next_attempt = None
        self.state = State.STARTING
        return [Enter(State.STARTING), *self._spawn()]

    def _stop_wanted(self) -> list[Action]:
        if self._stopping:
            return []
        self._stopping = True
        if self._phase == "waiting":
            return self._finish()
        if self._phase != "running":
            return []  # spawning or cleaning up: the stop follows Spawned or CleanedUp
        if self._exited:
            return []  # its exit is being handled
        if self.state is State.UP and self.is_web:
            self.state = State.DRAINING
            return [Enter(State.DRAINING), Say("Draining"), Drain()]
        return self._terminate()

    def _terminate(self) -> list[Action]:
        if self._phase not in {"running"}:
            return []
        self._phase = "stopping"
        self._signalled = True
        actions: list[Action] = []
        if self.state in {State.STARTING, State.UP, State.DRAINING}:
            self.state = State.STOPPING
            actions.append(Enter(State.STOPPING))
        actions += [
            Say("Stopping all processes with SIGTERM"),
            Signal(signal.SIGTERM),
            SetTimer(self.policy.stop_timeout, KILL),
        ]
        return actions

    def _stop_done(self) -> list[Action]:
        if self._phase != "stopping" or not (self._exited and self._group_gone):
            return []
        actions: list[Action] = []
        if self._killed:
            actions.append(
                Say(
                    f"Error R12 (Exit timeout): not stopped within {self.policy.stop_timeout:.0f}s"
                    " of SIGTERM, sent SIGKILL"
                )
            )
        self._phase = "cleanup"
        return [*actions, Say(f"Process {describe_exit(self._exit_code)}"), Cleanup()]

    def _finish(self) -> list[Action]:
        self._phase = "done"
        self.finished = True
        actions = self._resolve(False)
        if self.state is not State.EXITED:
            self.state = State.EXITED
            actions.append(Enter(State.EXITED))
        return [*actions, Finish()]
