"""Serving an ASGI app on a bind of its own beside the API (metrics, the dashboard)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from twelve.settings_values import Bind


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_asgi(stack: contextlib.AsyncExitStack, app: ASGIApp, bind: Bind, name: str) -> str:
    """Serve ``app`` on ``bind`` until the stack closes; its URL. ``name`` is the setting that
    chose the bind, for the error when it cannot be listened on."""
    server = QuietServer(
        uvicorn.Config(
            app, host=bind.host, port=bind.port, log_level="warning", lifespan="off",
            access_log=False, timeout_graceful_shutdown=5,
        )
    )  # fmt: skip
    task = asyncio.create_task(server.serve())

    async def stop() -> None:
        server.should_exit = True
        await task

    stack.push_async_callback(stop)
    while not server.started:
        if task.done():
            await task
            raise OSError(f"{name}: cannot listen on {bind}")
        await asyncio.sleep(0.02)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"
