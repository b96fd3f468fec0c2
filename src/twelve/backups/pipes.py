"""Streaming bytes through a client program (pg_dump, pg_restore, redis-cli) without holding them.

The program runs in its own session so it can be ended as a group; its stderr is kept (last
lines only) for the one-line error a failure becomes. Passwords reach it through its environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from twelve.errors import ServiceError
from twelve.supervisor import spawn

READ = 1 << 20


@dataclass
class Program:
    """A running client program and the tail of what it said on stderr."""

    process: asyncio.subprocess.Process
    label: str
    errors: list[str] = field(default_factory=list)
    _drain: asyncio.Task[None] | None = None

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.errors = [*self.errors[-4:], raw.decode(errors="replace").strip()]

    async def finish(self) -> None:
        """Wait for the exit; a ServiceError with its last error line when it failed."""
        code = await self.process.wait()
        if self._drain is not None:
            await self._drain
        if code != 0:
            said = next((e for e in reversed(self.errors) if e), f"exit status {code}")
            raise ServiceError(f"{self.label} failed: {said}")

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


async def start(
    argv: list[str], env: dict[str, str], label: str, stdin: bool = False, stdout: bool = False
) -> Program:
    child = await spawn.start(
        argv,
        cwd=Path("/"),
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **env},
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE if stdout else asyncio.subprocess.DEVNULL,
        separate_stderr=True,
    )
    program = Program(child.process, label)
    program._drain = asyncio.create_task(program._read_stderr())
    return program


async def read_out(program: Program, sink: Callable[[bytes], None]) -> None:
    """Everything the program writes to stdout, to ``sink`` in chunks."""
    assert program.process.stdout is not None
    while chunk := await program.process.stdout.read(READ):
        sink(chunk)


async def write_in(program: Program, chunks: AsyncIterator[bytes]) -> None:
    """``chunks`` to the program's stdin, then end of file; stops early if it exits."""
    stdin = program.process.stdin
    assert stdin is not None
    try:
        async for chunk in chunks:
            stdin.write(chunk)
            await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # it exited: finish() reports why
    finally:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.close()
            await stdin.wait_closed()
