"""Restart backoff and the process lifecycle, as pure rules."""

import pytest

from twelve.errors import Conflict
from twelve.supervisor.environment import process_environment
from twelve.supervisor.policy import Backoff
from twelve.supervisor.states import State, is_running, transition


def test_first_restart_is_immediate_then_doubles_to_the_cap() -> None:
    backoff = Backoff(cap=300, reset_after=60)
    delays = [backoff.delay(n) for n in range(1, 13)]
    assert delays[:5] == [0, 1, 2, 4, 8]
    assert max(delays) == 300 and delays[-1] == 300


def test_a_healthy_spell_resets_the_failure_count() -> None:
    backoff = Backoff(cap=300, reset_after=60)
    assert backoff.failures_after_exit(5, uptime=2) == 6
    assert backoff.failures_after_exit(5, uptime=61) == 1


def test_lifecycle_allows_only_named_transitions() -> None:
    assert transition(State.STARTING, State.UP) is State.UP
    assert transition(State.UP, State.DRAINING) is State.DRAINING
    assert transition(State.CRASHED, State.STARTING) is State.STARTING
    with pytest.raises(Conflict):
        transition(State.EXITED, State.UP)
    assert is_running(State.DRAINING) and not is_running(State.CRASHED)


def test_process_environment_is_the_contract_and_nothing_else() -> None:
    env = process_environment(
        app="hello",
        dyno="web.1",
        release=3,
        config={"GREETING": "hi", "PORT": "1", "DYNO": "evil"},
        home="/scratch/web.1",
        venv="/slug/venv",
        commit="abc123",
        port=5000,
    )
    assert env["PORT"] == "5000" and env["DYNO"] == "web.1"
    assert env["TWELVE_APP"] == "hello" and env["TWELVE_RELEASE"] == "v3"
    assert env["SOURCE_VERSION"] == "abc123" and env["GREETING"] == "hi"
    assert env["PATH"].startswith("/slug/venv/bin:")
    assert env["PYTHONUNBUFFERED"] == "1"
    assert not any(
        k.startswith("TWELVE_") and k not in {"TWELVE_APP", "TWELVE_RELEASE"} for k in env
    )


def test_processes_without_a_port_get_no_port_variable() -> None:
    env = process_environment(
        app="a",
        dyno="worker.1",
        release=1,
        config={"PORT": "9"},
        home="/h",
        venv=None,
        commit=None,
        port=None,
    )
    assert "PORT" not in env
