"""How a supervised process is started: here, as a child of the daemon, or by the keeper.

The daemon launches through the keeper (``twelve.keeper``), so its processes outlive it; tests and
tools that run the supervisor on its own launch here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from twelve.logs.capture import capture_output, read_lines
from twelve.supervisor import spawn
from twelve.supervisor.stdio import open_stdio

# One line of a process's output and, when known, when it was read.
OnOutput = Callable[[str, datetime | None], None]


class Launcher(Protocol):
    async def launch(
        self,
        key: str,
        argv: Sequence[str],
        cwd: Path,
        env: Mapping[str, str],
        on_line: OnOutput,
        *,
        raw: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> spawn.Running:
        """Start ``argv`` in a process group of its own; its output goes to ``on_line``.

        ``raw`` output (twelve's own, the router's) is passed on line by line as it was written,
        without decoding or splitting; ``meta`` is what a later daemon needs to adopt it.
        """
        ...

    async def launch_attached(
        self,
        key: str,
        argv: Sequence[str],
        cwd: Path,
        env: Mapping[str, str],
        stdio: str,
        size: tuple[int, int],
        meta: dict[str, Any],
    ) -> tuple[spawn.Running, list[int]]:
        """Start an attached one-off on a terminal of ``size`` (``stdio`` "tty") or three pipes
        ("pipes"); the process and the caller's ends of its streams, which the caller closes."""
        ...


class LocalLauncher:
    """Processes as children of this process: they end with it."""

    async def launch(
        self,
        key: str,
        argv: Sequence[str],
        cwd: Path,
        env: Mapping[str, str],
        on_line: OnOutput,
        *,
        raw: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> spawn.Running:
        child = await spawn.start(argv, cwd=cwd, env=env)
        stdout = child.process.stdout
        assert stdout is not None
        if raw:
            reading = read_lines(
                stdout, lambda line: on_line(line.decode("utf-8", "surrogateescape"), None)
            )
        else:
            reading = capture_output(stdout, lambda text: on_line(text, None))
        child.reader = asyncio.create_task(reading, name=f"output of {key}")
        return child

    async def launch_attached(
        self,
        key: str,
        argv: Sequence[str],
        cwd: Path,
        env: Mapping[str, str],
        stdio: str,
        size: tuple[int, int],
        meta: dict[str, Any],
    ) -> tuple[spawn.Running, list[int]]:
        streams = open_stdio(stdio, *size)
        try:
            child = await spawn.start_attached(argv, cwd=cwd, env=env, stdio=streams)
        except BaseException:
            streams.close_parent()
            raise
        return child, streams.parent
