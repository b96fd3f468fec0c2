"""Restart policy: when a process that exited starts again. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """First restart at once (or after ``first`` when not ``at_once``), then doubling up to
    ``cap``; the count starts again after a healthy spell of ``reset_after`` seconds."""

    cap: float = 300.0
    reset_after: float = 60.0
    first: float = 1.0
    at_once: bool = True

    def delay(self, failures: int) -> float:
        """Seconds to wait before attempt number ``failures`` (1 = the first restart)."""
        steps = failures - 2 if self.at_once else failures - 1
        if steps < 0:
            return 0.0
        return min(self.cap, self.first * 2.0**steps)

    def failures_after_exit(self, previous_failures: int, uptime: float) -> int:
        """The failure count after an exit: a long enough life starts the count again."""
        if uptime >= self.reset_after:
            return 1
        return previous_failures + 1


# The servers twelve runs beside the apps (the router, add-on servers): half a second, doubling
# to ten, so a server that cannot start does not spin and one that died once is back at once.
SERVER_BACKOFF = Backoff(cap=10.0, reset_after=60.0, first=0.5, at_once=False)


@dataclass
class Restarts:
    """The restart primitive: the failure count of one process slot and the wait it asks for.

    Every restart loop of twelve (app processes, the router, add-on servers, ``twelve local``)
    counts exits through one of these, so they share one policy.
    """

    backoff: Backoff
    failures: int = 0

    def exited(self, uptime: float) -> float:
        """Count an exit after ``uptime`` seconds of life; the seconds to wait before the next start."""
        self.failures = self.backoff.failures_after_exit(self.failures, uptime)
        return self.backoff.delay(self.failures)

    @property
    def delay(self) -> float:
        """The wait the last exit asked for."""
        return self.backoff.delay(self.failures)
