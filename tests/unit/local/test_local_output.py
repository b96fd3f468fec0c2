"""twelve local prints `12:00:01 web.1    | line`, coloured only when asked (on a terminal)."""

from datetime import datetime

from twelve.local.output import SYSTEM, line_format
from twelve.local.runner import exit_status

NOW = datetime(2026, 11, 28, 12, 0, 1)


def test_lines_carry_the_time_and_the_name_padded_to_the_longest() -> None:
    fmt = line_format(["web.1", "worker.10"], prefix=True, timestamp=True, colour=False)
    assert fmt.render("web.1", "hello", 0, NOW) == "12:00:01 web.1         | hello"
    assert fmt.render(SYSTEM, "web.1 started", 0, NOW) == "12:00:01 twelve[local] | web.1 started"
    long = line_format(["a-very-long-type.1"], prefix=True, timestamp=True, colour=False)
    assert long.render("a-very-long-type.1", "x", 0, NOW) == "12:00:01 a-very-long-type.1 | x"


def test_no_timestamp_and_no_prefix_leave_those_parts_out() -> None:
    bare = line_format(["web.1"], prefix=True, timestamp=False, colour=False)
    assert bare.render("web.1", "hi", 0, NOW) == "web.1         | hi"
    plain = line_format(["web.1"], prefix=False, timestamp=True, colour=True)
    assert plain.render("web.1", "as is", 0, NOW) == "as is"


def test_each_process_gets_its_own_colour_and_the_text_stays_uncoloured() -> None:
    fmt = line_format(["web.1", "worker.1"], prefix=True, timestamp=True, colour=True)
    web, worker = fmt.render("web.1", "x", 0, NOW), fmt.render("worker.1", "x", 1, NOW)
    assert web.startswith("\x1b[") and worker.startswith("\x1b[")
    assert web.split("m", 1)[0] != worker.split("m", 1)[0]
    assert web.endswith("\x1b[0m x")


def test_exit_codes_read_as_a_shell_reports_them() -> None:
    assert exit_status(0) == 0
    assert exit_status(4) == 4
    assert exit_status(-15) == 143  # killed by SIGTERM
    assert exit_status(-9) == 137
