"""Long operations answer with a stream of NDJSON events, so output reaches the user as it happens.

Events: ``{"event": "output", "line": ...}`` while working, then one of
``{"event": "done", ...result}`` or ``{"event": "error", "code", "message", "hint"}``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.responses import StreamingResponse

from twelve.errors import TwelveError

Emit = Callable[[str], None]


def ndjson(event: dict[str, Any]) -> bytes:
    return (json.dumps(event, default=str) + "\n").encode()


def stream_operation(work: Callable[[Emit], Awaitable[dict[str, Any]]]) -> StreamingResponse:
    """Run ``work`` and stream its output lines and its result as NDJSON.

    The operation runs as its own task, so a client that disconnects does not cancel a deploy
    half-way: the platform finishes it and the result is in the releases and logs.
    """
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def emit(line: str) -> None:
        queue.put_nowait({"event": "output", "line": line})

    async def run() -> None:
        try:
            result = await work(emit)
            queue.put_nowait({"event": "done", **result})
        except TwelveError as exc:
            queue.put_nowait(
                {"event": "error", "code": exc.code, "message": exc.message, "hint": exc.hint}
            )
        except Exception as exc:
            queue.put_nowait(
                {"event": "error", "code": "internal", "message": str(exc), "hint": None}
            )
            raise
        finally:
            queue.put_nowait(None)

    task = asyncio.ensure_future(run())

    async def body() -> AsyncIterator[bytes]:
        while (event := await queue.get()) is not None:
            yield ndjson(event)
        if task.done() and not task.cancelled():
            task.exception()  # mark the exception as retrieved; it was sent as an event

    return StreamingResponse(body(), media_type="application/x-ndjson")
