"""The platform's runtimes: list, install (streamed), adopt an interpreter, remove."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from twelve.api.body import json_body
from twelve.api.context import platform
from twelve.api.routing import Routes
from twelve.api.streaming import Emit, stream_operation
from twelve.errors import UsageError
from twelve.runtimes.catalog import Runtime, describe
from twelve.runtimes.service import Runtimes

routes = Routes()


@routes.get("/runtimes")
async def list_runtimes(request: Request) -> JSONResponse:
    p = platform(request)
    rows = await asyncio.to_thread(Runtimes(p.settings).describe_all, p.store)
    return JSONResponse(rows)


def _streamed(request: Request, work: Any) -> Response:
    p = platform(request)
    loop = asyncio.get_running_loop()

    async def run(emit: Emit) -> dict[str, Any]:
        def say(text: str) -> None:
            loop.call_soon_threadsafe(emit, text)

        runtime: Runtime = await asyncio.to_thread(work, Runtimes(p.settings), say)
        return {"runtime": describe(runtime, [])}

    return stream_operation(run)


@routes.post("/runtimes")
async def install_runtime(request: Request) -> Response:
    """Body ``{"spec": "python@3.12"}`` or ``{"path": "/usr/bin/python3.11"}`` (adopt)."""
    body = await json_body(request)
    spec, path = body.get("spec"), body.get("path")
    if isinstance(spec, str) and spec:
        return _streamed(request, lambda r, say: r.install(spec, say))
    if isinstance(path, str) and path:
        return _streamed(request, lambda r, say: r.add(path, say))
    raise UsageError("give spec (e.g. python@3.12) or path (an interpreter to adopt)")


@routes.delete("/runtimes/{spec}")
async def remove_runtime(request: Request) -> JSONResponse:
    p = platform(request)
    spec = request.path_params["spec"]
    removed = await asyncio.to_thread(Runtimes(p.settings).remove, spec, p.store)
    return JSONResponse({"removed": removed.key})
