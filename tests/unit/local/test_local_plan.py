"""twelve local plans processes, ports and environments as Foreman does, with the server's contract."""

import pytest

from twelve.appspec.procfile import Procfile
from twelve.errors import UsageError
from twelve.local.plan import base_port, local_environment, parse_formation, plan_processes

PROCFILE = Procfile(
    {"web": "run-web", "worker": "run-worker", "release": "migrate", "clock": "tick"}
)


def plan(formation: str | None = None, only: tuple[str, ...] = (), port: int = 5000) -> list[str]:
    processes = plan_processes(PROCFILE, parse_formation(formation), list(only), port, {}, {}, "a")
    return [f"{p.name}:{p.port}" for p in processes]


def test_ports_step_by_100_per_type_in_procfile_order_and_1_per_instance() -> None:
    assert plan("web=2,worker=1,clock=0") == ["web.1:5000", "web.2:5001", "worker.1:5100"]
    # clock is the fourth type: release keeps its slot though it does not run.
    assert plan("clock=1,web=0,worker=0", port=6000) == ["clock.1:6300"]


def test_by_default_one_of_each_type_except_release() -> None:
    assert plan() == ["web.1:5000", "worker.1:5100", "clock.1:5300"]


def test_release_runs_only_when_named_or_given_a_count() -> None:
    assert plan(only=("release",)) == ["release.1:5200"]
    assert "release.1:5200" in plan("release=1")


def test_foremans_all_sets_every_count_not_named() -> None:
    assert plan("all=2,web=1") == [
        "web.1:5000", "worker.1:5100", "worker.2:5101", "clock.1:5300", "clock.2:5301",
    ]  # fmt: skip


def test_named_types_narrow_the_run() -> None:
    assert plan(only=("worker",)) == ["worker.1:5100"]
    assert plan("worker=3", only=("worker",)) == ["worker.1:5100", "worker.2:5101", "worker.3:5102"]


def test_unknown_types_and_empty_runs_are_errors_that_list_the_declared_types() -> None:
    with pytest.raises(UsageError, match="no process type 'db'") as caught:
        plan(only=("db",))
    assert caught.value.hint == "declared: web, worker, release, clock"
    with pytest.raises(UsageError, match="no process type 'db'"):
        plan("db=1")
    with pytest.raises(UsageError, match="no process to start"):
        plan("all=0")


def test_formation_accepts_heroku_and_foreman_forms_and_rejects_the_rest() -> None:
    assert parse_formation(None) == {} and parse_formation("  ") == {}
    assert parse_formation("web=2, worker:1") == {"web": 2, "worker": 1}
    with pytest.raises(UsageError, match="TYPE=COUNT") as caught:
        parse_formation("web=two")
    assert caught.value.hint == "for example: -m web=2,worker=1 or -m all=1,web=2"
    with pytest.raises(UsageError, match="too many"):
        parse_formation("web=1000")


def test_the_base_port_comes_from_the_option_then_port_then_5000() -> None:
    assert base_port(7000, {"PORT": "8000"}) == 7000
    assert base_port(None, {"PORT": "8000"}) == 8000
    assert base_port(None, {"PORT": ""}) == 5000
    assert base_port(None, {}) == 5000
    with pytest.raises(UsageError, match="PORT='http' is not a port number"):
        base_port(None, {"PORT": "http"})
    with pytest.raises(UsageError, match="out of range"):
        base_port(None, {"PORT": "70000"})


def test_ports_past_65535_are_refused_before_anything_starts() -> None:
    with pytest.raises(UsageError, match=r"worker\.1 would listen on port 65635"):
        plan(port=65535)


def test_dotenv_wins_over_the_shell_and_the_contract_over_both() -> None:
    env = local_environment(
        {"A": "shell", "B": "shell", "PORT": "1", "PATH": "/shell/bin", "HOME": "/home/u"},
        {"A": "dotenv", "DYNO": "x", "TWELVE_APP": "y"},
        app="shop",
        dyno="web.1",
        port=5000,
    )
    assert env["A"] == "dotenv" and env["B"] == "shell"
    assert env["PATH"] == "/shell/bin" and env["HOME"] == "/home/u"
    assert env["PORT"] == "5000" and env["DYNO"] == "web.1" and env["TWELVE_APP"] == "shop"
    assert env["PYTHONUNBUFFERED"] == "1"


def test_the_shells_twelve_settings_and_api_token_stay_out_unless_dotenv_sets_them() -> None:
    env = local_environment(
        {"TWELVE_API_TOKEN": "secret", "TWELVE_HOME": "/srv"},
        {"TWELVE_FEATURE": "on"},
        app="a",
        dyno="run.1",
        port=None,
    )
    assert "TWELVE_API_TOKEN" not in env and "TWELVE_HOME" not in env
    assert env["TWELVE_FEATURE"] == "on"
    assert "PORT" not in env


def test_every_planned_process_gets_its_own_dyno_and_port() -> None:
    processes = plan_processes(
        PROCFILE, {"web": 2}, ["web"], 5000, {"COLOR": "shell"}, {"COLOR": "dotenv"}, "shop"
    )
    assert [(p.env["DYNO"], p.env["PORT"], p.env["COLOR"]) for p in processes] == [
        ("web.1", "5000", "dotenv"),
        ("web.2", "5001", "dotenv"),
    ]
    assert processes[0].command == "run-web" and processes[0].type == "web"
