"""The restart loop of a server twelve runs beside the apps: run, count the exit, wait, again.

The router, the add-on servers and ``twelve local`` run through this one loop; app processes run
through the same ``Restarts`` count inside their event loop (``supervisor.lifecycle``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from twelve.supervisor.clock import SYSTEM_CLOCK, Clock
from twelve.supervisor.policy import Restarts

T = TypeVar("T")


async def keep_running(
    run_once: Callable[[], Awaitable[T]],
    restarts: Restarts,
    stopping: Callable[[], bool],
    on_exit: Callable[[T, float], bool],
    *,
    wait: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """Run ``run_once`` again and again until ``stopping()``.

    After each run that ended on its own, ``on_exit(result, delay)`` hears how it ended and how
    long the policy waits before the next start; it returns False to end the loop instead.
    """
    while not stopping():
        started = clock.monotonic()
        result = await run_once()
        if stopping():
            return
        delay = restarts.exited(clock.monotonic() - started)
        if not on_exit(result, delay):
            return
        await wait(delay)
