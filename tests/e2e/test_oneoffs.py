"""``twelve run`` as a user meets it: a REPL on a real terminal (resizes, Ctrl-C reaching the
command, the exit code, the terminal restored when the API goes away), a pipe carrying 10 MiB byte
for byte with stderr apart, detached runs stopped with ``ps:stop``, and one-offs that end when
their caller goes away (after the grace) or loses its access (at once)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from certmaker import TestCA
from support import Daemon, server_base, wait_for

pytestmark = pytest.mark.slow
APP = "oo-admin"
GRACE = 6.0  # TWELVE_RUN_DISCONNECT_GRACE of this module's daemon


@pytest.fixture(scope="module")
def daemon() -> Iterator[Daemon]:

    with server_base("twelve-oneoffs-", (APP,)) as base:
        yield from module_daemon(base)


def module_daemon(base: Path) -> Iterator[Daemon]:
    from support import daemon_env  # noqa: PLC0415

    home = base / "home"
    home.mkdir()
    env = daemon_env(home, base / "uv-cache", TWELVE_RUN_DISCONNECT_GRACE=str(GRACE))
    d = Daemon(home, env, base / "daemon.log")
    d.start(isolated=True)
    try:
        source = base / "app"
        source.mkdir()
        # A generic app: nothing to install, so the module spends its time on the one-offs.
        (source / "Procfile").write_text("worker: sleep 100000\n")
        d.cli("apps:create", APP)
        d.cli("config:set", "-a", APP, "GREETING=hello from config")
        d.cli("deploy", "-a", APP, str(source))
        yield d
    finally:
        d.end()


def oneoffs(d: Daemon) -> dict[str, dict[str, Any]]:
    rows = d.cli_json("ps", "-a", APP)
    assert isinstance(rows, list)
    return {r["name"]: r for r in rows if r["name"].startswith("run.") and r["state"] == "up"}


def terminal(d: Daemon, *command: str, rows: int = 30, cols: int = 100) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "twelve", "run", "-a", APP, "--", *command],
        env=dict(d.env, TERM="screen-256color"),
        dimensions=(rows, cols),
        timeout=30,
        encoding="utf-8",
    )


def test_a_python_repl_on_a_terminal_reads_config_resizes_and_keeps_ctrl_c(daemon: Daemon) -> None:
    """The REPL reads the app's config and knows the terminal's type; ``stty size`` follows a
    resize; Ctrl-C interrupts the command (not the CLI); ``SystemExit(7)`` is the CLI's exit code."""
    repl = terminal(daemon, "python3", "-q")
    try:
        repl.expect(">>> ")
        repl.sendline("import os, subprocess, time; print(os.environ['GREETING'].upper())")
        repl.expect("HELLO FROM CONFIG")
        repl.sendline("print('term', os.environ['TERM'])")
        repl.expect("term screen-256color")
        repl.sendline("print(subprocess.run(['stty', 'size'], capture_output=True).stdout)")
        repl.expect(r"b'30 100\\n'")
        repl.setwinsize(40, 132)
        repl.sendline("print(subprocess.run(['stty', 'size'], capture_output=True).stdout)")
        repl.expect(r"b'40 132\\n'")
        repl.sendline("time.sleep(60)")
        time.sleep(0.5)
        repl.sendintr()
        repl.expect("KeyboardInterrupt")
        repl.expect(">>> ")
        repl.sendline("print('still', 'here')")
        repl.expect("still here")
        repl.sendline("raise SystemExit(7)")
        repl.expect(pexpect.EOF)
    finally:
        repl.close(force=True)
    assert repl.exitstatus == 7


def test_input_and_ctrl_d_reach_the_command_on_a_terminal(daemon: Daemon) -> None:
    repl = terminal(daemon, "python3", "-q")
    try:
        repl.expect(">>> ")
        repl.sendline("input('name? ') + '!'")
        repl.expect("name\\? ")
        repl.sendline("ada")
        repl.expect("'ada!'")
        repl.expect(">>> ")
        repl.sendeof()  # Ctrl-D: the REPL's end of input, and it exits 0
        repl.expect(pexpect.EOF)
    finally:
        repl.close(force=True)
    assert repl.exitstatus == 0


def test_a_pipe_carries_10_mib_byte_for_byte_with_stderr_apart(
    daemon: Daemon, tmp_path: Path
) -> None:
    """Not on a terminal: stdin streams to the command and ends, stdout and stderr stay apart."""
    data = os.urandom(10 << 20)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    with source.open("rb") as stdin:
        piped = subprocess.run(
            [*daemon.cli_argv(), "run", "-a", APP, "--", "cat"],
            env=daemon.env, stdin=stdin, capture_output=True, timeout=240, check=False,
        )  # fmt: skip
    assert piped.returncode == 0, piped.stderr[-2000:]
    assert len(piped.stdout) == len(data)
    assert hashlib.sha256(piped.stdout).digest() == hashlib.sha256(data).digest()

    script = "wc -c; echo 'saw the end of input'; echo oops >&2; exit 3"
    apart = subprocess.run(
        [*daemon.cli_argv(), "run", "-a", APP, script],
        env=daemon.env, input=b"12345", capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert apart.returncode == 3
    assert apart.stdout.split() == [b"5", b"saw", b"the", b"end", b"of", b"input"]
    assert apart.stderr == b"oops\n"
    tty = subprocess.run(
        [*daemon.cli_argv(), "run", "-a", APP, "--", "sh", "-c", "test -t 0 && echo tty"],
        env=daemon.env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert tty.stdout == b"" and tty.returncode == 1  # no terminal unless asked for
    forced = subprocess.run(
        [*daemon.cli_argv(), "run", "--tty", "-a", APP, "--", "sh", "-c", "test -t 0 && echo tty"],
        env=daemon.env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert forced.returncode == 0 and b"tty" in forced.stdout
    # A command that closes its input early carries on, and ends as itself.
    closing = "head -c 5; exec 0<&-; sleep 1; echo; echo after"
    head = subprocess.run(
        [*daemon.cli_argv(), "run", "-a", APP, "--", "sh", "-c", closing],
        env=daemon.env, input=data[: 1 << 20], capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert head.returncode == 0 and head.stdout == data[:5] + b"\nafter\n", head.stderr
    with_env = subprocess.run(
        [*daemon.cli_argv(), "run", "-a", APP, "--env", "FOO=1;BAR=two words", "echo $FOO-$BAR"],
        env=daemon.env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert with_env.stdout == b"1-two words\n"
    missing = subprocess.run(
        [*daemon.cli_argv(), "run", "-a", "oo-nope", "--", "true"],
        env=daemon.env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert missing.returncode == 1 and b"oo-nope" in missing.stderr
    assert missing.stderr.count(b"\n") == 1  # one line, no traceback


class TlsTerminator:
    """A TLS terminator in front of the API, as a deployment puts one (its own event loop)."""

    def __init__(self, upstream: int, cert: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.upstream = upstream
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _serve(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0, ssl=self.context)
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def __enter__(self) -> TlsTerminator:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop)
        assert self.ready.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def test_a_one_off_works_through_a_tls_terminator_in_front_of_the_api(
    daemon: Daemon, tmp_path: Path
) -> None:
    ca = TestCA()
    cert, key = ca.issue_files(tmp_path, "localhost")
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    api_port = int(daemon.api_url.rsplit(":", 1)[1])
    with TlsTerminator(api_port, cert, key) as tls:
        env = dict(
            daemon.env,
            TWELVE_API_URL=f"https://localhost:{tls.port}",
            SSL_CERT_FILE=str(tmp_path / "ca.pem"),
        )
        done = subprocess.run(
            [*daemon.cli_argv(), "run", "-a", APP, "--", "sh", "-c", "echo over-tls; cat"],
            env=env, input=b"piped through TLS", capture_output=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"over-tls\npiped through TLS"


def test_a_detached_run_logs_and_is_stopped_with_ps_stop(daemon: Daemon) -> None:
    started = time.monotonic()
    out = daemon.cli(
        "run", "--detached", "-a", APP, "trap '' TERM; echo detached-started; sleep 300"
    ).stdout
    assert time.monotonic() - started < 30
    name = out.split("up, ", 1)[1].split()[0]
    assert name.startswith("run.")
    wait_for(lambda: name in oneoffs(daemon), 30, f"{name} in ps")
    wait_for(
        lambda: "detached-started" in daemon.cli("logs", "-a", APP, "-p", name).stdout,
        30,
        "the detached run's output in the log",
    )
    # It ignores SIGTERM: ps:stop ends it with SIGKILL after TWELVE_STOP_TIMEOUT.
    stopped = daemon.cli_json("ps:stop", "-a", APP, name)
    assert isinstance(stopped, dict) and stopped["exit_code"] == -signal.SIGKILL
    assert name not in oneoffs(daemon)
    refused = daemon.cli("ps:stop", "-a", APP, "run.9999", check=False)
    assert refused.returncode == 1 and "no one-off process run.9999" in refused.stderr


def test_a_one_off_whose_caller_goes_away_ends_after_the_grace(daemon: Daemon) -> None:
    cli = subprocess.Popen(
        [*daemon.cli_argv(), "run", "-a", APP, "--", "sleep", "300"],
        env=daemon.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        found = wait_for(lambda: [n for n, r in oneoffs(daemon).items() if "sleep" in r["command"]],
                         30, "the one-off in ps")  # fmt: skip
        name = found[0]
        os.killpg(cli.pid, signal.SIGKILL)
        cli.wait(10)
        gone_at = time.monotonic()
        assert name in oneoffs(daemon)  # the grace has just begun
        wait_for(lambda: name not in oneoffs(daemon), GRACE + 30, f"{name} ended")
        assert time.monotonic() - gone_at > GRACE / 2
        log = daemon.cli("logs", "-a", APP, "-p", name).stdout
        assert "Stopping: its connection was closed" in log
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
            cli.wait(10)


def test_a_revoked_token_ends_an_open_one_off_at_once(daemon: Daemon, tmp_path: Path) -> None:
    created = daemon.cli("users:create", "oo-dave").stdout
    code = created.strip().splitlines()[-1]
    dave = dict(daemon.env, TWELVE_API_URL=daemon.api_url, XDG_CONFIG_HOME=str(tmp_path / "dave"))
    login = subprocess.run(
        [*daemon.cli_argv(), "login", "--invitation", code],
        env=dave, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert login.returncode == 0, login.stderr
    daemon.cli("access:add", "-a", APP, "oo-dave", "--role", "deployer")
    made = subprocess.run(
        [*daemon.cli_argv(), "auth:tokens:create", "--description", "one-off", "--scope", "deploy"],
        env=dave, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    token = made.stdout.strip().splitlines()[-1]
    token_id = made.stdout.split("Created token ", 1)[1].split(" ", 1)[0]
    cli = subprocess.Popen(
        [*daemon.cli_argv(), "run", "-a", APP, "--", "sleep", "301"],
        env=dict(dave, TWELVE_API_TOKEN=token), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        found = wait_for(
            lambda: [n for n, r in oneoffs(daemon).items() if r["command"] == "sleep 301"],
            30,
            "dave's one-off in ps",
        )
        revoked = subprocess.run(
            [*daemon.cli_argv(), "auth:tokens:revoke", token_id],
            env=dave, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert revoked.returncode == 0, revoked.stderr
        revoked_at = time.monotonic()
        _out, err = cli.communicate(timeout=30)
        assert cli.returncode == 1 and "revoked" in err, err
        wait_for(lambda: found[0] not in oneoffs(daemon), 30, "the one-off killed")
        assert time.monotonic() - revoked_at < GRACE  # killed at once, not after the grace
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
            cli.communicate(timeout=10)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def test_the_terminal_is_restored_when_the_cli_is_terminated(
    daemon: Daemon, tmp_path: Path
) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    twelve = " ".join([sys.executable, "-m", "twelve"])
    shell = (
        f"stty -g > {before}; {twelve} run -a {APP} -- sleep 306; echo cli-exit=$?;"
        f" stty -g > {after}"
    )
    session = pexpect.spawn("sh", ["-c", shell], env=daemon.env, timeout=30, encoding="utf-8")
    try:
        wait_for(
            lambda: any(r["command"] == "sleep 306" for r in oneoffs(daemon).values()),
            30,
            "the one-off in ps",
        )
        (cli,) = children_of(session.pid)
        os.kill(cli, signal.SIGTERM)
        session.expect(r"cli-exit=(\d+)")
        assert session.match.group(1) == str(128 + signal.SIGTERM)
        session.expect(pexpect.EOF)
    finally:
        session.close(force=True)
    assert before.read_text() == after.read_text()


def test_the_terminal_is_restored_when_the_api_goes_away(daemon: Daemon, tmp_path: Path) -> None:
    """The daemon is killed with the one-off running: the CLI says so and exits non-zero, the
    terminal's mode is as it was, and the next daemon ends the one-off and says so in its log;
    a detached one-off carries on under the next daemon."""
    detached = daemon.cli("run", "--detached", "-a", APP, "sleep 303").stdout
    kept = detached.split("up, ", 1)[1].split()[0]
    pid = wait_for(lambda: oneoffs(daemon).get(kept, {}).get("pid"), 30, f"{kept} in ps")
    before, after = tmp_path / "before", tmp_path / "after"
    twelve = " ".join([sys.executable, "-m", "twelve"])
    shell = (
        f"stty -g > {before}; {twelve} run -a {APP} -- sleep 302; echo cli-exit=$?;"
        f" stty -g > {after}"
    )
    session = pexpect.spawn("sh", ["-c", shell], env=daemon.env, timeout=30, encoding="utf-8")
    try:
        wait_for(
            lambda: [n for n, r in oneoffs(daemon).items() if r["command"] == "sleep 302"],
            30,
            "the one-off in ps",
        )
        name = next(n for n, r in oneoffs(daemon).items() if r["command"] == "sleep 302")
        daemon.stop(signal.SIGKILL)
        session.expect("lost the connection to the twelve server")
        session.expect(r"cli-exit=(\d+)")
        assert session.match.group(1) == "1"
        session.expect(pexpect.EOF)
    finally:
        session.close(force=True)
    assert before.read_text() == after.read_text()
    daemon.start()
    wait_for(lambda: name not in oneoffs(daemon), 30, f"{name} ended by the next daemon")
    log = daemon.cli("logs", "-a", APP, "-p", name).stdout
    assert "its connection was lost when the daemon stopped" in log
    # A detached one-off outlives the daemon: the next one adopts it, and can stop it.
    assert oneoffs(daemon)[kept]["pid"] == pid
    daemon.cli("ps:stop", "-a", APP, kept)
    assert kept not in oneoffs(daemon)


def test_the_audit_entry_of_a_one_off_ended_by_shutdown_reaches_the_drain(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    """TWELVE_AUDIT_DRAIN: what the stopping daemon writes last (the one-off it ended) is sent
    before it exits."""
    received = bytearray()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def collect() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                with conn:
                    while chunk := conn.recv(65536):
                        received.extend(chunk)

    threading.Thread(target=collect, daemon=True).start()
    try:
        d = make_daemon(TWELVE_AUDIT_DRAIN=f"syslog+tcp://127.0.0.1:{port}")
        source = tmp_path / "app"
        source.mkdir()
        (source / "Procfile").write_text("worker: sleep 100000\n")
        d.cli("apps:create", "oo-drained")
        d.cli("deploy", "-a", "oo-drained", str(source))
        cli = subprocess.Popen(
            [*d.cli_argv(), "run", "-a", "oo-drained", "--", "sleep", "304"],
            env=d.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            wait_for(
                lambda: any(
                    r["command"] == "sleep 304" for r in d.cli_json("ps", "-a", "oo-drained")
                ),  # type: ignore[union-attr]
                30,
                "the one-off in ps",
            )
            assert d.stop() == 0
            cli.wait(30)
        finally:
            if cli.poll() is None:
                os.killpg(cli.pid, signal.SIGKILL)
                cli.wait(10)
        text = received.decode(errors="replace")
        entries = [line for line in text.split("twelve-audit") if '"action": "run"' in line]
        assert entries and "sleep 304" in entries[-1], text[-2000:]
    finally:
        listener.close()
