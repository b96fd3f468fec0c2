"""The example apps hold up under the load a user puts on them."""

from __future__ import annotations

import contextlib
import http.client
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from support import EXAMPLES, wait_for

BURST = 64  # connections opened at once, more than a default backlog of 5 holds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def hello_app() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "DYNO": "web.1"}
    proc = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=EXAMPLES / "hello-python",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    try:
        wait_for(listening, 15, "the hello app to listen")
        yield proc, port
    finally:
        for sig in (signal.SIGCONT, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
        proc.wait(10)


def test_hello_app_accepts_a_burst_of_connections_while_busy(
    hello_app: tuple[subprocess.Popen[bytes], int],
) -> None:
    proc, port = hello_app
    # Stopped, the app accepts nothing: only its listen backlog holds new connections. With
    # the standard library's default of 5, the kernel drops the rest of the handshakes, and
    # each of those clients waits a second or more before its retry.
    os.killpg(proc.pid, signal.SIGSTOP)
    socks = []
    try:
        for _ in range(BURST):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            socks.append(sock)
        deadline = time.monotonic() + 0.5
        pending = list(socks)
        while pending and time.monotonic() < deadline:
            _, writable, _ = select.select([], pending, [], 0.05)
            pending = [s for s in pending if s not in writable]
        established = [s for s in socks if s not in pending]
        assert len(established) == BURST, f"{BURST - len(established)} connections not taken"
        os.killpg(proc.pid, signal.SIGCONT)
        answered = 0
        for sock in established:
            sock.setblocking(True)
            sock.settimeout(10)
            sock.sendall(b"GET / HTTP/1.0\r\nHost: hello\r\n\r\n")
            response = http.client.HTTPResponse(sock)
            response.begin()
            answered += response.status == 200 and response.read() == b"hello from web.1\n"
        assert answered == BURST
    finally:
        for sock in socks:
            sock.close()
