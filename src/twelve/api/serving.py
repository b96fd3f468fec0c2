"""The API served by uvicorn inside the daemon, with the dashboard under ``/ui`` (or on a bind of
its own): started on its bind, stopped with the daemon."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import uvicorn

from twelve.api.app import create_app
from twelve.api.context import Platform
from twelve.dashboard.mount import with_dashboard
from twelve.serving import QuietServer
from twelve.settings_values import Bind

log = logging.getLogger("twelve")
AUDIT_DRAIN_GRACE = 5.0  # seconds the audit drain has at shutdown to send what it holds


async def serve_api(stack: contextlib.AsyncExitStack, platform: Platform, bind: Bind) -> str | None:
    """Serve the API; its URL, None when it could not bind."""
    api = create_app(platform)
    server = QuietServer(
        uvicorn.Config(
            await with_dashboard(stack, api, platform),
            host=bind.host,
            port=bind.port,
            log_level="warning",
            timeout_graceful_shutdown=10,
            lifespan="off",
            access_log=False,
        )
    )
    api_task = asyncio.create_task(server.serve())

    async def stop_api() -> None:
        log.info("stopping the API")
        platform.hub.end_readers()  # live tails end now; clients reconnect to the next daemon
        server.should_exit = True
        await api_task
        drain = api.state.guard.drain
        if drain is not None:  # the last entries (this shutdown's too) leave the machine
            await drain.stop(AUDIT_DRAIN_GRACE)

    stack.push_async_callback(stop_api)
    while not server.started:
        if api_task.done():
            await api_task
            log.error("the API could not bind %s", bind)
            return None
        await asyncio.sleep(0.02)
    sock = server.servers[0].sockets[0].getsockname()
    return f"http://{_host(sock[0])}:{sock[1]}"


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
