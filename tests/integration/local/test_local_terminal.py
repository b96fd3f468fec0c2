"""On a real terminal (a pseudo-terminal): colours per process, and `local:run` for interactive use."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Iterator

import pytest

from integration.local.localrun import APP, TWELVE, Launcher


class Terminal:
    """A command attached to a new pseudo-terminal, as its controlling terminal."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        try:
            self.process = subprocess.Popen(
                argv,
                cwd=APP,
                env={**env, "TERM": "xterm"},
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
                # The new session takes the terminal, so Ctrl-C (\x03) becomes SIGINT to it.
                preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # noqa: PLW1509
            )
        finally:
            os.close(slave)
        self.seen = b""

    def read(self) -> bytes:
        ready, _, _ = select.select([self.master], [], [], 0.1)
        if ready:
            with contextlib.suppress(OSError):  # EIO once every slave side is closed
                self.seen += os.read(self.master, 65536)
        return self.seen

    def wait_for(self, needle: bytes, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.read():
            if time.monotonic() > deadline:
                raise AssertionError(f"no {needle!r} on the terminal: {self.seen!r}")

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            self.read()  # keep the terminal drained so the command never blocks on output
            if time.monotonic() > deadline:
                raise AssertionError(f"still running after {timeout}s: {self.seen!r}")
        self.read()
        return self.process.returncode

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        os.close(self.master)


@pytest.fixture
def terminal(launcher: Launcher) -> Iterator[object]:
    opened: list[Terminal] = []

    def open_terminal(*args: str) -> Terminal:
        opened.append(Terminal([*TWELVE, *args], launcher.env))
        return opened[-1]

    yield open_terminal
    for term in opened:
        term.close()


def test_each_process_has_its_own_colour_on_a_terminal(terminal) -> None:  # type: ignore[no-untyped-def]
    """On a terminal the prefixes are coloured; the run ends with its one process."""
    term = terminal("local", "-f", "Procfile.once")
    assert term.wait() == 0
    assert b"DYNO=hello.1" in term.seen
    assert b"\x1b[36m" in term.seen, term.seen  # hello.1's colour
    assert b"\x1b[1m" in term.seen, term.seen  # the platform's own lines, bold


def test_local_run_passes_stdin_the_terminal_the_env_and_the_exit_code(terminal) -> None:  # type: ignore[no-untyped-def]
    """`twelve local:run -- python prompt.py` is interactive, with .env, and exits with its code."""
    term = terminal("local:run", "--", sys.executable, "prompt.py")
    term.wait_for(b"name? ")
    assert b"tty from-dotenv run.1" in term.seen, "stdin and stdout are the terminal"
    term.type(b"ada\n")
    term.wait_for(b"hi ada")
    assert term.wait() == 7


def test_ctrl_c_in_local_run_reaches_the_command_not_twelve(terminal) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C at the prompt interrupts the command, as in a shell; its exit is passed through."""
    term = terminal("local:run", "--", sys.executable, "prompt.py")
    term.wait_for(b"name? ")
    # A Ctrl-C that lands just before the read starts is only seen by the next one, so the
    # test presses it again until the command ends, as a user would.
    deadline = time.monotonic() + 20
    while term.process.poll() is None and time.monotonic() < deadline:
        term.type(b"\x03")
        with contextlib.suppress(AssertionError):
            term.wait(0.5)
    assert term.wait() == 42, term.seen
    assert b"interrupted at the prompt" in term.seen, "the command itself got SIGINT"


def test_local_run_of_a_missing_command_says_so(launcher: Launcher) -> None:
    """A command that does not exist is a one-line error, not a traceback."""
    result = launcher.run("local:run", "--", "no-such-command-here")
    assert result.returncode == 1
    assert result.stderr.startswith("twelve: cannot run 'no-such-command-here'"), result.stderr
