"""`twelve local` as a user runs it: a real Procfile, real process groups, signals, exit codes."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import group_alive, wait_for

TWELVE = [sys.executable, "-m", "twelve"]
PY = sys.executable


def write_app(root: Path, procfile: str, dotenv: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Procfile").write_text(procfile)
    if dotenv:
        (root / ".env").write_text(dotenv)
    return root


def start(app: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*TWELVE, "local", *args],
        cwd=app,
        env={**os.environ, "PYTHON": PY, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=10)
    return out


PRINTER = "$PYTHON -c \"import os; print(os.environ['DYNO'], os.environ['PORT'], os.environ.get('COLOR'))\""


def test_ports_formation_env_precedence_and_plain_prefixes_in_a_pipe(tmp_path: Path) -> None:
    app = write_app(
        tmp_path / "app",
        f"web: {PRINTER}; sleep 2\nworker: {PRINTER}; sleep 2\nrelease: echo never\n",
        "COLOR=from-dotenv\n",
    )
    proc = start(app, "-m", "web=2,worker=1", "-p", "6000", env={"COLOR": "from-shell"})
    out = finish(proc)
    assert re.search(r"\d\d:\d\d:\d\d web\.1 +\| web\.1 6000 from-dotenv", out), out
    assert "web.2 6001 from-dotenv" in out and "worker.1 6100 from-dotenv" in out
    assert "never" not in out, "the release type is not started"
    assert "\x1b[" not in out, "no colours in a pipe"
    assert proc.returncode == 0


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_ctrl_c_stops_every_group_including_grandchildren(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    app = write_app(
        tmp_path / "app",
        f"web: sh -c 'sleep 300 & echo $! >> {pidfile}; wait'\nworker: sleep 300\n",
    )
    proc = start(app)
    wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), 20, "the grandchild")
    grandchild = int(pidfile.read_text().split()[0])
    pgid = os.getpgid(grandchild)
    os.kill(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
    out = finish(proc)
    assert "SIGINT received" in out
    assert not group_alive(pgid)
    assert not alive(grandchild)


def test_a_process_ignoring_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    stubborn = (
        '$PYTHON -c "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);'
        " print('up', flush=True); time.sleep(60)\""
    )
    app = write_app(tmp_path / "app", f"web: exec {stubborn}\nquick: sleep 1; exit 0\n")
    started = time.monotonic()
    out = finish(start(app, "-t", "1"))
    assert "web.1 killed by SIGKILL" in out
    assert time.monotonic() - started < 30


def test_the_first_exit_ends_the_run_with_its_code_and_output_survives_bad_bytes(
    tmp_path: Path,
) -> None:
    app = write_app(
        tmp_path / "app",
        "web: sleep 30\nbroken: printf 'bad \\377\\376 bytes\\n'; exit 4\n",
    )
    proc = start(app)
    out = finish(proc)
    assert proc.returncode == 4
    assert "broken.1 exited with code 4" in out
    assert "bad \ufffd\ufffd bytes" in out


def test_restart_keeps_processes_running_with_the_servers_policy(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    app = write_app(tmp_path / "app", f"flaky: echo run >> {counter}; exit 1\n")
    proc = start(app, "--restart")
    wait_for(lambda: counter.exists() and counter.read_text().count("run") >= 3, 20, "three runs")
    os.kill(proc.pid, signal.SIGTERM)
    out = finish(proc)
    assert "restarting flaky.1 in" in out and proc.returncode == 0


def test_local_run_passes_the_terminal_and_the_exit_code(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", "web: true\n", "SECRET_WORD=swordfish\n")
    script = (
        "import os, sys; print('tty' if sys.stdin.isatty() else 'pipe', os.environ['SECRET_WORD']);"
        " name = input(); print('hi ' + name); sys.exit(7)"
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes `twelve local:run` on the pseudo-terminal
        os.chdir(app)
        os.execv(sys.executable, [*TWELVE, "local:run", "--", sys.executable, "-c", script])
    terminal = Terminal(fd)
    try:
        wait_for(lambda: b"swordfish" in terminal.read(), 20, "the prompt")
        os.write(fd, b"ada\n")
        wait_for(lambda: b"hi ada" in terminal.read(), 20, "the answer")
    finally:
        _, status = os.waitpid(pid, 0)
        with contextlib.suppress(OSError):
            os.close(fd)
    assert b"tty swordfish" in terminal.seen, "stdin is the terminal"
    assert os.waitstatus_to_exitcode(status) == 7


class Terminal:
    """What the pseudo-terminal has shown so far."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.seen = b""

    def read(self) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], 0.2)
        if ready:
            with contextlib.suppress(OSError):
                self.seen += os.read(self.fd, 4096)
        return self.seen


def test_local_check_names_the_file_and_line(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", "web: ok\nnot a line\n", "A=1\n")
    result = subprocess.run(
        [*TWELVE, "local:check"], cwd=app, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1 and "Procfile:2" in result.stderr
    (app / "Procfile").write_text("web: ok\n")
    (app / ".env").write_text("A=1\nB='open\n")
    result = subprocess.run(
        [*TWELVE, "local:check"], cwd=app, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1 and ".env:2" in result.stderr
    missing = subprocess.run(
        [*TWELVE, "local", "-e", "nope.env"], cwd=app, capture_output=True, text=True, check=False
    )
    assert missing.returncode == 1 and "nope.env not found" in missing.stderr


def test_the_same_processes_ports_environment_and_lines_as_honcho(tmp_path: Path) -> None:
    """Side by side with Honcho on one Procfile and .env: only the prefix format differs."""
    honcho = Path(sys.executable).with_name("honcho")
    if not honcho.exists():
        pytest.skip("honcho is not installed (it is a test dependency)")
    line = (
        "$PYTHON -c \"import os; print(os.environ['TAG'], 'port', os.environ['PORT'],"
        " os.environ['COLOR'])\""
    )
    app = write_app(
        tmp_path / "app",
        f"web: TAG=web {line}; sleep 2\nworker: TAG=worker {line}; sleep 2\n",
        "COLOR=from-dotenv\n",
    )
    env = {**os.environ, "PYTHON": PY, "COLOR": "from-shell"}
    ours = finish(start(app, env={"COLOR": "from-shell"}))
    theirs = subprocess.run(
        [str(honcho), "start"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout

    def app_lines(text: str) -> set[tuple[str, str]]:
        found = set()
        for raw in text.splitlines():
            match = re.match(r"^\S+ (\S+?)\s*\| (.*)$", raw)
            if match and match.group(1) not in {"system", "twelve[local]"}:
                found.add((match.group(1), match.group(2)))
        return found

    assert (
        app_lines(ours)
        == app_lines(theirs)
        == {
            ("web.1", "web port 5000 from-dotenv"),
            ("worker.1", "worker port 5100 from-dotenv"),
        }
    )
