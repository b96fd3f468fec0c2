"""Side by side with Honcho on one Procfile and .env: the same processes, ports, environment and
output lines; only the prefix format differs."""

from __future__ import annotations

import re
import signal
import sys

from integration.local.localrun import Launcher

PROCESS_LINE = re.compile(r"^\d\d:\d\d:\d\d (\w+\.\d+)\s*\| (.*)$")


def app_lines(text: str) -> set[tuple[str, str]]:
    """``(process, line)`` for every line a process printed (not the tool's own lines)."""
    return {m.groups() for m in map(PROCESS_LINE.match, text.splitlines()) if m}


def test_the_same_processes_ports_environment_and_lines_as_honcho(launcher: Launcher) -> None:
    ours = launcher.start("-f", "Procfile.pair", "-e", "pair.env", "-m", "web=2,worker=1")
    theirs = launcher.start(
        argv=[sys.executable, "-m", "honcho", "start", "--no-colour", "-f", "Procfile.pair",
              "-e", "pair.env", "-c", "web=2,worker=1"],
    )  # fmt: skip
    for run in (ours, theirs):
        run.wait_for_text("PORT=", count=3)
        run.send(signal.SIGINT)
    codes = ours.wait(), theirs.wait()
    expected = {
        (name, f"PORT={port} COLOR=from-dotenv GREETING=hello, world SHELL_ONLY=yes")
        for name, port in (("web.1", 5000), ("web.2", 5001), ("worker.1", 5100))
    }
    assert app_lines(ours.text()) == expected, ours.text()
    assert app_lines(theirs.text()) == expected, theirs.text()
    assert codes == (130, 130), "Ctrl-C ends both with 130"
    assert launcher.leftovers() == []
