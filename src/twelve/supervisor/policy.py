"""Restart policy: when a process that exited starts again. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """First restart at once, then 1 s doubling up to ``cap``; reset after a healthy spell."""

    cap: float = 300.0
    reset_after: float = 60.0
    first: float = 1.0

    def delay(self, failures: int) -> float:
        """Seconds to wait before attempt number ``failures`` (1 = the first restart)."""
        if failures <= 1:
            return 0.0
        return min(self.cap, self.first * 2.0 ** (failures - 2))

    def failures_after_exit(self, previous_failures: int, uptime: float) -> int:
        """The failure count after an exit: a long enough life starts the count again."""
        if uptime >= self.reset_after:
            return 1
        return previous_failures + 1
