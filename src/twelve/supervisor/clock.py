"""Time as the supervision decisions see it: given to them, so tests script it."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: uptimes and deadlines."""
        ...

    def time(self) -> float:
        """Seconds since the epoch: times shown to users (the next attempt)."""
        ...


class SystemClock:
    """The clock of the machine."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


SYSTEM_CLOCK: Clock = SystemClock()
