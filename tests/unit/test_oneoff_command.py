"""A one-off's simple command replaces the shell that starts it, so Ctrl-C on its terminal
reaches the command instead of killing a shell in between; anything else is left as written."""

from __future__ import annotations

import pytest

from twelve.supervisor.launch import exec_simple


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("python3 -q", "exec python3 -q"),
        ("python manage.py shell", "exec python manage.py shell"),
        ('python -c "print(1); print(2)"', 'exec python -c "print(1); print(2)"'),
        ("bash", "exec bash"),
        ("cat $FILE", "exec cat $FILE"),
    ],
)
def test_a_simple_command_is_execed(command: str, expected: str) -> None:
    assert exec_simple(command) == expected


@pytest.mark.parametrize(
    "command",
    [
        "echo a; python",
        "a | b",
        "a && b",
        "sleep 5 &",
        "cat < in",
        "if true; then x; fi",
        "A=1 python",
        "exec bash",
        "echo $(date)",
        "echo `date`",
        "x\ny",
        "'unterminated",
        "",
    ],
)
def test_anything_else_is_left_as_written(command: str) -> None:
    assert exec_simple(command) == command
