"""The supervision decisions over scripted histories of events, on a clock the test moves."""

from __future__ import annotations

import signal
from dataclasses import dataclass

from twelve.supervisor import lifecycle as lc
from twelve.supervisor.policy import Backoff
from twelve.supervisor.states import State


@dataclass
class FakeClock:
    now: float = 1000.0
    epoch: float = 1_700_000_000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.epoch + self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


POLICY = lc.Policy(boot_timeout=30, stop_timeout=10, backoff=Backoff(cap=300, reset_after=60))


def slot(is_web: bool = False) -> tuple[lc.Lifecycle, FakeClock]:
    clock = FakeClock()
    return lc.Lifecycle("bin/run", is_web, POLICY, clock), clock


def said(actions: list[lc.Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, lc.Say)]


def crash(life: lc.Lifecycle, clock: FakeClock, after: float) -> list[lc.Action]:
    """Spawned, up for ``after`` seconds, exited with 1, cleaned up: the actions of the clean-up."""
    life.on(lc.Spawned())
    clock.advance(after)
    exit_actions = life.on(lc.Exited(1))
    assert lc.Cleanup() in exit_actions
    return life.on(lc.CleanedUp())


def test_a_worker_is_up_once_spawned_and_restarts_at_once_after_its_first_crash() -> None:
    life, clock = slot()
    assert life.begin() == [lc.Say("Starting process with command `bin/run`"), lc.Spawn()]
    assert life.on(lc.Spawned()) == [lc.Enter(State.UP), lc.ResolveHealth(True)]
    clock.advance(3)
    actions = life.on(lc.Exited(1))
    assert actions == [lc.Enter(State.CRASHED), lc.Say("Process exited with code 1"), lc.Cleanup()]
    assert life.state is State.CRASHED and life.last_exit == "exited with code 1"
    assert life.next_attempt == clock.time()  # the first restart is at once
    assert life.on(lc.CleanedUp()) == [lc.SetTimer(0.0, lc.RESTART)]
    actions = life.on(lc.TimerFired(lc.RESTART))
    assert actions[0] == lc.Enter(State.STARTING) and actions[-1] == lc.Spawn()
    assert life.restarts == 1 and life.next_attempt is None


def test_crashes_back_off_doubling_to_the_cap() -> None:
    life, clock = slot()
    life.begin()
    waits = []
    for _ in range(12):
        actions = crash(life, clock, after=1)
        timer = actions[-1]
        assert isinstance(timer, lc.SetTimer) and timer.purpose == lc.RESTART
        waits.append(timer.delay)
        if timer.delay:
            assert said(actions) == [f"Restarting in {timer.delay:.0f}s (attempt {life.failures})"]
        assert life.next_attempt == clock.time() + timer.delay
        life.on(lc.TimerFired(lc.RESTART))
    assert waits[:5] == [0, 1, 2, 4, 8] and waits[-1] == 300


def test_a_long_enough_life_resets_the_backoff() -> None:
    life, clock = slot()
    life.begin()
    for _ in range(5):
        crash(life, clock, after=1)
        life.on(lc.TimerFired(lc.RESTART))
    assert life.failures == 5
    actions = crash(life, clock, after=61)
    assert life.failures == 1 and actions == [lc.SetTimer(0.0, lc.RESTART)]


def test_a_timer_from_before_a_stop_starts_nothing() -> None:
    life, clock = slot()
    life.begin()
    crash(life, clock, after=1)
    crash_actions = life.on(lc.TimerFired(lc.RESTART))
    assert lc.Spawn() in crash_actions
    crash(life, clock, after=1)  # waits 1 s now
    assert life.on(lc.StopWanted()) == [lc.Enter(State.EXITED), lc.Finish()]
    assert life.on(lc.TimerFired(lc.RESTART)) == []
    assert life.finished and life.state is State.EXITED


def test_a_web_process_that_never_answers_is_abandoned_and_fails_its_rollout() -> None:
    life, clock = slot(is_web=True)
    life.begin()
    assert life.on(lc.Spawned()) == [lc.WatchHealth(clock.now + 30)]
    clock.advance(30)
    actions = life.on(lc.HealthResult(False))
    assert actions == [
        lc.Say(
            "Error R10 (Boot timeout): web process did not become healthy within 30 seconds"
            " of launch"
        ),
        lc.Abandon(),
        lc.ResolveHealth(False),
    ]
    # The rollout gives up on it: its exit is a crash of the slot, then the stop ends the slot.
    actions = life.on(lc.Exited(-signal.SIGTERM))
    assert lc.Enter(State.CRASHED) in actions and said(actions) == ["Process killed by SIGTERM"]
    assert life.on(lc.StopWanted()) == []  # cleaning up: the stop follows
    assert life.on(lc.CleanedUp()) == [lc.Enter(State.EXITED), lc.Finish()]


def test_a_web_process_that_answers_is_up_and_health_is_answered_once() -> None:
    life, _ = slot(is_web=True)
    life.begin()
    life.on(lc.Spawned())
    assert life.on(lc.HealthResult(True)) == [lc.Enter(State.UP), lc.ResolveHealth(True)]
    actions = life.on(lc.Exited(0))
    assert lc.ResolveHealth(False) not in actions and lc.Enter(State.CRASHED) in actions


def test_a_stop_drains_then_terms_then_kills_after_the_timeout() -> None:
    life, clock = slot(is_web=True)
    life.begin()
    life.on(lc.Spawned())
    life.on(lc.HealthResult(True))
    assert life.on(lc.StopWanted()) == [lc.Enter(State.DRAINING), lc.Say("Draining"), lc.Drain()]
    assert life.on(lc.Drained()) == [
        lc.Enter(State.STOPPING),
        lc.Say("Stopping all processes with SIGTERM"),
        lc.Signal(signal.SIGTERM),
        lc.SetTimer(10, lc.KILL),
    ]
    clock.advance(10)
    assert life.on(lc.TimerFired(lc.KILL)) == [
        lc.Signal(signal.SIGKILL),
        lc.SetTimer(lc.KILL_WAIT, lc.GIVE_UP),
    ]
    assert life.on(lc.Exited(-signal.SIGKILL)) == []  # the group may still have members
    assert life.on(lc.GroupGone()) == [
        lc.Say("Error R12 (Exit timeout): not stopped within 10s of SIGTERM, sent SIGKILL"),
        lc.Say("Process killed by SIGKILL"),
        lc.Cleanup(),
    ]
    assert life.on(lc.CleanedUp()) == [lc.Enter(State.EXITED), lc.Finish()]
    assert life.restarts == 0 and life.last_exit is None  # a stop is not a crash


def test_a_stop_in_time_cancels_the_kill() -> None:
    life, _ = slot()
    life.begin()
    life.on(lc.Spawned())
    life.on(lc.StopWanted())
    assert life.on(lc.GroupGone()) == []  # the leader's exit is not known yet
    actions = life.on(lc.Exited(0))
    assert said(actions) == ["Process exited with code 0"] and actions[-1] == lc.Cleanup()
    assert life.on(lc.TimerFired(lc.KILL)) == []


def test_a_stop_while_starting_waits_for_the_process_then_stops_it() -> None:
    life, _ = slot(is_web=True)
    life.begin()
    assert life.on(lc.StopWanted()) == []
    actions = life.on(lc.Spawned())
    assert actions[0] == lc.Enter(State.STOPPING) and lc.Signal(signal.SIGTERM) in actions


def test_an_exit_during_the_drain_still_ends_in_one_clean_stop() -> None:
    life, _ = slot(is_web=True)
    life.begin()
    life.on(lc.Spawned())
    life.on(lc.HealthResult(True))
    life.on(lc.StopWanted())
    assert life.on(lc.Exited(0)) == []
    actions = life.on(lc.Drained())
    assert lc.Signal(signal.SIGTERM) in actions
    assert said(life.on(lc.GroupGone())) == ["Process exited with code 0"]
    assert life.restarts == 0 and life.state is State.STOPPING


def test_an_out_of_memory_kill_says_the_limit() -> None:
    life, _ = slot()
    life.begin()
    life.on(lc.Spawned())
    actions = life.on(lc.Exited(-signal.SIGKILL, "memory 64M", 64 << 20))
    assert said(actions)[-1] == (
        "Error R15 (Memory quota vastly exceeded): killed by the kernel for using more memory"
        " than its limit (memory 64M, peak 64.0M)"
    )
    assert life.last_exit == "killed by SIGKILL (memory limit)"
