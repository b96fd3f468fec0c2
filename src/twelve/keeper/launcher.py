"""Launching through the keeper: the ``Launcher`` the daemon gives its supervisor and router."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from twelve.keeper.client import KeeperClient, KeptChild
from twelve.supervisor.launcher import OnOutput

Fallback = Callable[[KeptChild, str, datetime], None]


class KeeperLauncher:
    """Spawns through the keeper and hands each line to whoever follows that process."""

    def __init__(self, client: KeeperClient, fallback: Fallback) -> None:
        self.client = client
        self.fallback = fallback  # lines of a process nobody follows yet (before adoption)
        self._handlers: dict[str, OnOutput] = {}

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
    ) -> KeptChild:
        self._handlers[key] = on_line  # its first lines may come before the answer
        try:
            child = await self.client.spawn(key, list(argv), cwd, dict(env), raw=raw, meta=meta)
        except BaseException:
            self._handlers.pop(key, None)
            raise
        child.output_end.add_done_callback(lambda _f: self._handlers.pop(key, None))
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
    ) -> tuple[KeptChild, list[int]]:
        return await self.client.spawn_attached(key, list(argv), cwd, dict(env), stdio, size, meta)

    def attach(self, child: KeptChild, on_line: OnOutput) -> None:
        """Follow the lines of an adopted process from now on."""
        self._handlers[child.key] = on_line
        child.output_end.add_done_callback(lambda _f: self._handlers.pop(child.key, None))

    def line(self, child: KeptChild, text: str, stamp: datetime) -> None:
        """The keeper client's ``on_line``."""
        handler = self._handlers.get(child.key)
        if handler is not None:
            handler(text, stamp)
        else:
            self.fallback(child, text, stamp)
