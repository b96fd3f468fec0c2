"""One log stream per app that survives restarts, keeps secrets out, drains out; custom domains."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from support import EXAMPLES, Daemon, wait_for

pytestmark = pytest.mark.slow
HELLO = EXAMPLES / "hello-python"
SECRET = "distinctive-secret-value-8d1f"


def test_tail_follows_across_a_daemon_restart_without_repeating_or_skipping(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    d = make_daemon()
    d.cli("apps:create", "hello")
    d.cli("config:set", "-a", "hello", "WORKER_INTERVAL=0.1")
    d.cli("deploy", "-a", "hello", str(HELLO))
    d.cli("ps:scale", "-a", "hello", "worker=1")
    out_path = tmp_path / "tail.out"
    with out_path.open("w") as out:
        tail = subprocess.Popen(
            [*d.cli_argv(), "logs", "-a", "hello", "--tail", "-n", "5"],
            env=d.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: out_path.read_text().count("from the worker") >= 5, 30, "ticks in the tail"
        )
        d.stop(signal.SIGTERM)
        before_restart = len(out_path.read_text())
        d.start()
        marker = "twelve[worker.1]: Starting process"

        def ticking_again() -> bool:
            text = out_path.read_text()[before_restart:]
            return marker in text and "(tick 3)" in text.rsplit(marker, 1)[1]

        wait_for(ticking_again, 60, "the worker's ticks after the restart")
    finally:
        os.killpg(tail.pid, signal.SIGTERM)
        tail.wait(10)
    seen = out_path.read_text().splitlines()
    journal = d.cli("logs", "-a", "hello", "-n", "100000").stdout.splitlines()
    start = journal.index(seen[0])
    assert journal[start : start + len(seen)] == seen, (
        "the tail is exactly the journal: no gap, no repeat"
    )
    assert any(marker in line for line in seen), "it followed the restart"


def test_config_values_never_reach_a_log_line(make_daemon: Callable[..., Daemon]) -> None:
    d = make_daemon()
    d.cli("apps:create", "hello")
    d.cli("config:set", "-a", "hello", f"API_SECRET={SECRET}")
    d.cli("deploy", "-a", "hello", str(HELLO))
    d.cli("config:set", "-a", "hello", f"OTHER_SECRET={SECRET}-2", "GREETING=hi")
    d.cli("config:unset", "-a", "hello", "OTHER_SECRET")
    d.cli("ps:scale", "-a", "hello", "worker=1")
    d.cli("rollback", "-a", "hello")
    assert d.get("hello").status_code == 200
    logs = d.cli("logs", "-a", "hello", "-n", "100000").stdout
    assert "Set API_SECRET" not in logs or SECRET not in logs
    assert "Set GREETING, OTHER_SECRET" in logs
    assert SECRET not in logs
    assert SECRET not in d.output()
    for path in (d.home / "logs").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    masked = d.cli("config", "-a", "hello").stdout
    assert "API_SECRET" in masked and SECRET not in masked
    assert d.cli("config:get", "-a", "hello", "API_SECRET").stdout.strip() == SECRET


class SyslogReceiver:
    """A TCP syslog listener on loopback that keeps every byte it is sent."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.data = bytearray()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            while chunk := conn.recv(65536):
                self.data += chunk

    def close(self) -> None:
        self.sock.close()


def test_router_lines_custom_domains_and_a_syslog_drain(make_daemon: Callable[..., Daemon]) -> None:
    d = make_daemon()
    d.cli("apps:create", "hello")
    d.cli("deploy", "-a", "hello", str(HELLO))
    receiver = SyslogReceiver()
    try:
        d.cli("drains:add", "-a", "hello", f"syslog+tcp://127.0.0.1:{receiver.port}")
        d.cli("domains:add", "-a", "hello", "www.example.test")
        port = d.router_url.rsplit(":", 1)[1]
        with httpx.Client() as client:
            custom = client.get(
                f"http://127.0.0.1:{port}/custom", headers={"Host": "www.example.test"}
            )
            other = client.get(
                f"http://127.0.0.1:{port}/", headers={"Host": "unknown.example.test"}
            )
        assert custom.status_code == 200 and other.status_code == 404
        taken = d.cli("domains:add", "-a", "hello", "other.localhost", check=False)
        assert taken.returncode == 1 and "platform's domain" in taken.stderr
        listed = d.cli_json("domains", "-a", "hello")
        assert {x["hostname"] for x in listed} == {"hello.localhost", "www.example.test"}  # type: ignore[union-attr]

        def router_line() -> str | None:
            lines = d.cli("logs", "-a", "hello", "--source", "router").stdout.splitlines()
            return next((line for line in lines if 'path="/custom"' in line), None)

        line = wait_for(router_line, 15, "the router's line for /custom")
        assert (
            "router[router]: at=info method=GET" in line
            and "status=200" in line
            and "dyno=web.1" in line
        )
        wait_for(lambda: b'path="/custom"' in receiver.data, 15, "the request's line at the drain")
        frame = bytes(receiver.data)
        assert frame.split(b" ", 1)[0].isdigit(), "octet-counted framing"
        assert b" hello " in frame
        drains = d.cli_json("drains", "-a", "hello")
        assert drains[0]["sent"] > 0  # type: ignore[index]
        d.cli("drains:remove", "-a", "hello", f"syslog+tcp://127.0.0.1:{receiver.port}")
        assert d.cli_json("drains", "-a", "hello") == []
    finally:
        receiver.close()
