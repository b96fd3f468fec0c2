"""Running `twelve local` (and honcho) as a user does: a subprocess in the fixture app's directory.

Every run gets its own session, its output goes to a file the test polls, and every process it
started carries a marker variable, so the finalizer can end whatever is left by process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from support import pids_with_env, wait_for

APP = Path(__file__).resolve().parents[2] / "fixtures" / "local" / "app"
TWELVE = [sys.executable, "-m", "twelve"]
MARKER = "LOCAL_TEST_RUN"  # every process of a run inherits it from the shell


class Run:
    """One started command, its output file and its bounded waits."""

    def __init__(self, process: subprocess.Popen[bytes], out: Path) -> None:
        self.process = process
        self.out = out

    def text(self) -> str:
        return self.out.read_bytes().decode("utf-8", "replace")

    def lines(self) -> list[str]:
        return self.text().splitlines()

    def wait_for_text(self, needle: str, count: int = 1, timeout: float = 20) -> None:
        """Poll the output until ``needle`` appears ``count`` times; fail showing the output."""
        try:
            wait_for(lambda: self.text().count(needle) >= count, timeout, repr(needle))
        except AssertionError as exc:
            raise AssertionError(f"{exc}; output so far:\n{self.text()}") from None

    def send(self, signum: int) -> None:
        """Signal the command itself (not its group), as a terminal or a supervisor would."""
        self.process.send_signal(signum)

    def wait(self, timeout: float = 30) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {timeout}s:\n{self.text()}") from None


class Launcher:
    """Starts commands in the fixture app with a known environment; ends everything at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.marker = uuid.uuid4().hex
        self.pids_file = tmp_path / "pids"
        self.counter = tmp_path / "counter"
        shell = {k: v for k, v in os.environ.items() if k != "PORT" and not k.startswith("TWELVE")}
        self.env = {
            **shell,
            "PYTHON": sys.executable,
            "PIDS": str(self.pids_file),
            "COUNTER": str(self.counter),
            "COLOR": "from-shell",
            "SHELL_ONLY": "yes",
            MARKER: self.marker,
        }
        self.runs: list[Run] = []

    def start(self, *args: str, argv: list[str] | None = None, **env: str) -> Run:
        """``twelve local ARGS`` (or ``argv``) in the fixture app, output to a file."""
        out = self.tmp_path / f"out{len(self.runs)}.txt"
        with out.open("wb") as sink:
            process = subprocess.Popen(
                argv or [*TWELVE, "local", *args],
                cwd=APP,
                env={**self.env, **env},
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        run = Run(process, out)
        self.runs.append(run)
        return run

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """A short command (``local:check``, a usage error) run to the end."""
        return subprocess.run(
            [*TWELVE, *args],
            cwd=APP,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def recorded(self) -> list[tuple[int, int]]:
        """``(pid, pgid)`` of every fixture process that wrote itself into $PIDS."""
        if not self.pids_file.exists():
            return []
        return [
            (int(pid), int(pgid))
            for pid, pgid in (line.split() for line in self.pids_file.read_text().splitlines())
        ]

    def leftovers(self) -> list[int]:
        """Live processes started by this test's runs (the runs themselves excluded)."""
        ours = {run.process.pid for run in self.runs}
        return [pid for pid in pids_with_env(MARKER, self.marker) if pid not in ours]

    def close(self) -> None:
        for run in self.runs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.process.pid, signal.SIGKILL)
            run.process.wait(10)
        for pid in pids_with_env(MARKER, self.marker):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
