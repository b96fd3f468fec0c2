"""Blocking calls of the ACME library, run so that a stopping daemon never waits for a CA."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking call in a daemon thread (one a stopping daemon does not wait for)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: Any, failed: bool) -> None:
        if not future.done():
            if failed:
                future.set_exception(value)
            else:
                future.set_result(value)

    def run() -> None:
        try:
            result: Any = fn(*args)
            failed = False
        except BaseException as exc:  # handed to the awaiting task as is
            result, failed = exc, True
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, failed)

    threading.Thread(target=run, name="acme", daemon=True).start()
    return await future
