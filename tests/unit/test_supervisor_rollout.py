"""What a rollout starts, keeps and retires, and when it goes live."""

from __future__ import annotations

from dataclasses import replace

from twelve.supervisor.process import ProcessSpec
from twelve.supervisor.rollout import Rollout, goes_live, plan_rollout


def spec(name: str, release: int = 1, command: str = "python app.py") -> ProcessSpec:
    return ProcessSpec("hello", name, command, release, "/slugs/1", (("A", "1"),), None)


def running(*specs: ProcessSpec) -> dict[str, ProcessSpec]:
    return {s.name: s for s in specs}


def test_a_new_release_starts_every_process_anew_and_retires_the_old_ones() -> None:
    now = running(spec("web.1"), spec("worker.1"))
    assert plan_rollout(now, [spec("web.1", 2), spec("worker.1", 2)]) == Rollout(
        ("web.1", "worker.1"), ("web.1", "worker.1")
    )


def test_scaling_keeps_the_running_processes_and_only_adds_or_retires() -> None:
    now = running(spec("web.1"), spec("web.2"))
    assert plan_rollout(now, [spec("web.1"), spec("web.2"), spec("web.3")]) == Rollout(
        ("web.3",), ()
    )
    assert plan_rollout(now, [spec("web.1")]) == Rollout((), ("web.2",))


def test_a_changed_spec_or_an_asked_replacement_restarts_only_that_process() -> None:
    now = running(spec("web.1"), spec("worker.1"))
    changed = replace(spec("worker.1"), command="python other.py")
    assert plan_rollout(now, [spec("web.1"), changed]) == Rollout(("worker.1",), ("worker.1",))
    assert plan_rollout(now, [spec("web.1"), spec("worker.1")], replace={"web.1"}) == Rollout(
        ("web.1",), ("web.1",)
    )


def test_the_first_rollout_retires_nothing() -> None:
    assert plan_rollout({}, [spec("web.1")]) == Rollout(("web.1",), ())


def test_a_gated_rollout_goes_live_only_when_every_new_web_process_is_healthy() -> None:
    assert goes_live(True, [True, True])
    assert goes_live(True, [])  # workers only: nothing to wait for
    assert not goes_live(True, [True, False])
    assert goes_live(False, [False]), "a formation brought back keeps trying under the policy"
