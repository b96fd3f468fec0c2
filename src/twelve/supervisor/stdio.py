"""Standard streams of an attached one-off: a pseudo-terminal, or three pipes.

Whoever starts the process keeps the child's ends only until it is started; the other ends go to
whoever talks to the user (the daemon), so the keeper never carries a byte of a session. Standard
library only: the keeper imports it.
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios
from dataclasses import dataclass

TTY = "tty"
PIPES = "pipes"


@dataclass
class Stdio:
    """The child's stdin, stdout and stderr, and the parent's ends (the terminal's master once,
    or stdin's write end, stdout's and stderr's read ends)."""

    child: tuple[int, int, int]
    parent: list[int]
    tty: bool

    def close_child(self) -> None:
        for fd in set(self.child):
            os.close(fd)

    def close_parent(self) -> None:
        for fd in self.parent:
            os.close(fd)


def open_stdio(mode: str, rows: int = 24, cols: int = 80) -> Stdio:
    """A terminal of ``rows`` x ``cols`` (``mode`` "tty") or three pipes ("pipes")."""
    if mode == TTY:
        master, slave = os.openpty()
        set_window(slave, rows, cols)
        os.set_inheritable(master, False)
        return Stdio((slave, slave, slave), [master], True)
    if mode != PIPES:
        raise ValueError(f"unknown stdio mode {mode!r}")
    in_read, in_write = os.pipe()
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    return Stdio((in_read, out_write, err_write), [in_write, out_read, err_read], False)


def set_window(fd: int, rows: int, cols: int) -> None:
    """Tell the terminal its size; its foreground process group gets SIGWINCH."""
    rows = max(1, min(int(rows), 0xFFFF))
    cols = max(1, min(int(cols), 0xFFFF))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def take_terminal() -> None:
    """In the child, after ``setsid``: its stdin's terminal becomes its controlling terminal, so
    Ctrl-C and Ctrl-Z written to the master reach its process group as signals."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
