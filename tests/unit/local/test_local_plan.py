"""twelve local plans processes, ports and environments as Foreman does. Pure."""

from datetime import datetime

import pytest

from twelve.appspec.procfile import Procfile
from twelve.errors import UsageError
from twelve.local.output import line_format
from twelve.local.plan import base_port, parse_formation, plan_processes

PROCFILE = Procfile(
    {"web": "run-web", "worker": "run-worker", "release": "migrate", "clock": "tick"}
)


def test_ports_step_by_100_per_type_and_1_per_instance() -> None:
    plan = plan_processes(PROCFILE, parse_formation("web=2,worker=1,clock=0"), [], 5000, {}, {})
    assert [(p.name, p.port) for p in plan] == [
        ("web.1", 5000),
        ("web.2", 5001),
        ("worker.1", 5100),
    ]


def test_by_default_one_of_each_type_except_release() -> None:
    assert [p.name for p in plan_processes(PROCFILE, {}, [], 5000, {}, {})] == [
        "web.1", "worker.1", "clock.1",
    ]  # fmt: skip


def test_all_sets_every_count_and_named_types_narrow_the_run() -> None:
    plan = plan_processes(PROCFILE, parse_formation("all=2,web=1"), [], 6000, {}, {})
    assert [p.name for p in plan] == ["web.1", "worker.1", "worker.2", "clock.1", "clock.2"]
    assert [p.name for p in plan_processes(PROCFILE, {}, ["worker"], 5000, {}, {})] == ["worker.1"]
    with pytest.raises(UsageError, match="no process type 'db'"):
        plan_processes(PROCFILE, {}, ["db"], 5000, {}, {})


def test_dotenv_wins_over_the_shell_and_the_contract_over_both() -> None:
    (web, *_) = plan_processes(
        PROCFILE,
        {},
        [],
        5000,
        {"A": "shell", "B": "shell", "PORT": "1"},
        {"A": "dotenv", "DYNO": "x"},
    )
    assert web.env["A"] == "dotenv" and web.env["B"] == "shell"
    assert web.env["PORT"] == "5000" and web.env["DYNO"] == "web.1"
    assert web.env["PYTHONUNBUFFERED"] == "1"


def test_the_base_port_comes_from_the_option_then_port_then_5000() -> None:
    assert base_port(7000, {"PORT": "8000"}) == 7000
    assert base_port(None, {"PORT": "8000"}) == 8000
    assert base_port(None, {}) == 5000


def test_formation_errors_say_the_form() -> None:
    with pytest.raises(UsageError, match="TYPE=COUNT"):
        parse_formation("web:two")


def test_lines_are_prefixed_with_time_and_padded_name_unless_asked_not_to() -> None:
    now = datetime(2026, 11, 28, 12, 0, 1)
    fmt = line_format(["web.1", "worker.1"], prefix=True, timestamp=True, colour=False)
    assert fmt.render("web.1", "hello", 0, now) == "12:00:01 web.1         | hello"
    bare = line_format(["web.1"], prefix=True, timestamp=False, colour=False)
    assert bare.render("web.1", "hi", 0, now) == "web.1         | hi"
    assert (
        line_format(["web.1"], prefix=False, timestamp=True, colour=False).render(
            "web.1", "x", 0, now
        )
        == "x"
    )
    coloured = line_format(["web.1"], prefix=True, timestamp=True, colour=True).render(
        "web.1", "x", 0, now
    )
    assert "\x1b[" in coloured
