"""The scheduler's clock: wall time (epoch seconds), and a way to wait for a moment on it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Protocol


class CronClock(Protocol):
    def now(self) -> float: ...

    async def sleep_until(self, when: float, wake: asyncio.Event) -> None:
        """Until ``when`` on this clock, or until ``wake`` is set, whichever comes first."""
        ...


class SystemClock:
    """The machine's clock. Waits are re-checked, so a clock set forward is noticed soon."""

    def now(self) -> float:
        return time.time()

    async def sleep_until(self, when: float, wake: asyncio.Event) -> None:
        while (left := when - time.time()) > 0 and not wake.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(left, 5.0))


class ScaledClock:
    """A clock running ``rate`` times faster than the machine's, from an origin kept in a file so
    that every daemon of a home shares one timeline (``TWELVE_CRON_SPEEDUP``: tests and demos
    see minutes of cron in seconds)."""

    def __init__(self, origin_file: Path, rate: float) -> None:
        self.origin_file = origin_file
        self.rate = rate
        self._origin: float | None = None

    @property
    def origin(self) -> float:
        if self._origin is None:
            try:
                self._origin = float(self.origin_file.read_text())
            except (OSError, ValueError):
                self._origin = time.time()
                self.origin_file.write_text(f"{self._origin!r}\n")
        return self._origin

    def now(self) -> float:
        origin = self.origin
        return origin + (time.time() - origin) * self.rate

    async def sleep_until(self, when: float, wake: asyncio.Event) -> None:
        while (left := (when - self.now()) / self.rate) > 0 and not wake.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(left, 5.0))
