"""The CLI's end of an attached one-off: this terminal (or these pipes) joined to it over the
API's WebSocket (see api/run.py for the frames).

On a terminal, the terminal is put in raw mode, so every key (Ctrl-C, Ctrl-Z, Ctrl-D) goes to the
command and none is taken by this process; its size is sent at the start and at every SIGWINCH; the
mode is restored on every way out. Otherwise stdin is sent until its end, then an end of input.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import ssl
import struct
import termios
import threading
import tty
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from twelve import errors
from twelve.cli.client import NOT_RUNNING_HINT, Client, error_from_payload

STDOUT, STDERR = 1, 2
READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class Request:
    app: str
    command: str
    tty: bool
    env: dict[str, str] = field(default_factory=dict)


def window_size(fd: int) -> tuple[int, int]:
    """Rows and columns of the terminal on ``fd`` (24 x 80 when it has none)."""
    try:
        rows, cols, _x, _y = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return 24, 80
    return (rows or 24), (cols or 80)


def attach_url(api: Client, request: Request, size: tuple[int, int]) -> str:
    query = {"command": request.command, "tty": "1" if request.tty else "0"}
    if request.env:
        query["env"] = json.dumps(request.env)
    if request.tty:
        term = os.environ.get("TERM") or "xterm-256color"
        query |= {"rows": str(size[0]), "cols": str(size[1]), "term": term}
    base = api.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return f"{base}/apps/{request.app}/run?{urlencode(query)}"


def _open(api: Client, url: str) -> ClientConnection:
    try:
        return connect(
            url,
            additional_headers={"Authorization": f"Bearer {api.token}"},
            max_size=None,
            open_timeout=30,
            compression=None,  # a terminal's bytes are small, a pipe's often compressed already
            ssl=ssl.create_default_context() if url.startswith("wss://") else None,
        )
    except InvalidStatus as exc:
        response = exc.response
        try:
            payload = json.loads(response.body or b"{}").get("error", {})
        except ValueError:
            payload = {"message": f"HTTP {response.status_code} from {api.base_url}"}
        if response.status_code == 401:
            raise errors.AuthError(
                f"the API refused the token: {payload.get('message', 'unknown token')}",
                "log in with 'twelve login', or set TWELVE_API_TOKEN",
            ) from None
        raise error_from_payload(payload) from None
    except (OSError, InvalidHandshake, TimeoutError):
        raise errors.ServerUnavailable(
            f"cannot reach the twelve server at {api.base_url}", NOT_RUNNING_HINT
        ) from None


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """``fd``'s terminal in raw mode for the block; restored on every way out."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, saved)


class Attached:
    """One session: the connection, a thread sending stdin, this thread writing the output."""

    def __init__(self, connection: ClientConnection, tty: bool) -> None:
        self.connection = connection
        self.tty = tty
        self._lock = threading.Lock()

    def send(self, message: str | bytes) -> None:
        with self._lock:
            self.connection.send(message)

    def run(self) -> int:
        """Until the command ends: its exit code."""
        sender = threading.Thread(target=self._send_stdin, name="stdin", daemon=True)
        sender.start()
        while True:
            try:
                message = self.connection.recv()
            except ConnectionClosed:
                raise errors.ServerUnavailable(
                    "lost the connection to the twelve server; the command is stopped"
                    " after TWELVE_RUN_DISCONNECT_GRACE",
                    "'twelve ps -a APP' shows what still runs",
                ) from None
            if isinstance(message, bytes):
                if message:
                    _write_all(STDERR if message[0] == STDERR else STDOUT, message[1:])
                continue
            event = json.loads(message)
            if event.get("event") == "done":
                return exit_status(event.get("exit_code"))
            if event.get("event") == "error":
                raise error_from_payload(event)

    def _send_stdin(self) -> None:
        try:
            while chunk := os.read(0, READ_SIZE):
                self.send(chunk)
            self.send(json.dumps({"eof": True}))
        except (OSError, ConnectionClosed):
            return

    def resized(self, _signum: int, _frame: FrameType | None) -> None:
        rows, cols = window_size(0)
        with contextlib.suppress(ConnectionClosed, OSError):
            self.send(json.dumps({"resize": [rows, cols]}))


def _exit_on(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def exit_status(code: Any) -> int:
    """The CLI's exit code for the command's: itself, or 128 + the signal that killed it."""
    if isinstance(code, int) and 0 <= code < 256:
        return code
    if isinstance(code, int) and code < 0:
        return 128 + (-code)
    return 1


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def run_attached(api: Client, request: Request) -> int:
    """Run ``request`` attached to this process's streams; the command's exit code."""
    local_tty = os.isatty(0) and os.isatty(1)
    size = window_size(0 if os.isatty(0) else 1)
    connection = _open(api, attach_url(api, request, size))
    session = Attached(connection, request.tty)
    with connection, contextlib.ExitStack() as stack:
        if request.tty and local_tty:
            stack.enter_context(raw_terminal(0))
            previous = signal.signal(signal.SIGWINCH, session.resized)
            stack.callback(signal.signal, signal.SIGWINCH, previous)
            # Killed politely (SIGTERM, SIGHUP), the CLI still leaves the terminal as it found it.
            for signum in (signal.SIGTERM, signal.SIGHUP):
                stack.callback(signal.signal, signum, signal.signal(signum, _exit_on))
        return session.run()
