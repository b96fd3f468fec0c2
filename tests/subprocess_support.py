"""Programs the tests run as subprocesses, as a user would: the CLI, git, the router."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``twelve ARGS`` as a subprocess with ``env``, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "twelve", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def git(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``git -C REPO ARGS``, its output captured as text."""
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )


def committed_repo(source: Path, repo: Path) -> Path:
    """A copy of ``source`` at ``repo``, made a git repository with one commit on main."""
    shutil.copytree(source, repo)
    for args in (
        ("init", "--quiet", "--initial-branch=main"),
        ("config", "user.email", "dev@example.com"),
        ("config", "user.name", "Dev"),
        ("add", "-A"),
        ("commit", "--quiet", "-m", "first"),
    ):
        assert git(repo, *args).returncode == 0
    return repo


@contextmanager
def router_process(env: dict[str, str]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """``python -m twelve.router`` started with ``env``: its pid and its events up to
    ``listening`` or ``error``; its process group is killed on the way out."""
    process = subprocess.Popen(
        [sys.executable, "-m", "twelve.router"],
        env=env,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    events: list[dict[str, Any]] = []
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            events.append(json.loads(raw))
            if events[-1].get("event") in ("listening", "error"):
                break
        yield process.pid, events
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(20)
        if process.stdout is not None:
            process.stdout.close()
