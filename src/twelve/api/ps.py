"""Processes: list, scale, restart, and one-off ``run`` in a release's environment."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from twelve.api.body import json_body
from twelve.api.context import platform
from twelve.api.serialize import process_json
from twelve.api.streaming import Emit, stream_operation
from twelve.appspec.formation import MAX_QUANTITY
from twelve.appspec.names import validate_process_type
from twelve.errors import Conflict, UsageError
from twelve.logs.line import make_line
from twelve.supervisor.oneoff import run_in_release


async def list_processes(request: Request) -> JSONResponse:
    p = platform(request)
    app = request.path_params["app"]
    p.store.get_app(app)
    return JSONResponse([process_json(proc) for proc in p.supervisor.processes(app)])


async def get_formation(request: Request) -> JSONResponse:
    p = platform(request)
    app = request.path_params["app"]
    p.store.get_app(app)
    return JSONResponse(p.store.get_formation(app))


async def patch_formation(request: Request) -> JSONResponse:
    """Body: ``{"web": 2, "worker": 1}``."""
    p = platform(request)
    app = request.path_params["app"]
    body = await json_body(request)
    changes: dict[str, int] = {}
    for kind, count in body.items():
        validate_process_type(kind)
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_QUANTITY:
            raise UsageError(f"{kind} must be a count from 0 to {MAX_QUANTITY}")
        changes[kind] = count
    if not changes:
        raise UsageError("no process types to scale", "for example: web=2 worker=1")
    return JSONResponse(await p.deployer.scale(app, changes))


async def restart(request: Request) -> JSONResponse:
    p = platform(request)
    app = request.path_params["app"]
    body = await json_body(request)
    process = body.get("process")
    p.store.get_app(app)
    async with p.deployer.lock(app):
        await p.supervisor.restart(app, process if isinstance(process, str) else None)
    p.event(app, "api", f"Restarted {process or 'all processes'}")
    return JSONResponse({"restarted": process or "all"})


async def run(request: Request) -> Response:
    """Body: ``{"command": "..."}``; streams the output, then ``done`` with the exit code."""
    p = platform(request)
    app = request.path_params["app"]
    body = await json_body(request)
    command = body.get("command")
    if not isinstance(command, str) or not command.strip():
        raise UsageError("run needs a command", "twelve run -a APP -- COMMAND")
    release = p.store.current_release(app)
    if release is None or release.slug_dir is None:
        raise Conflict(f"{app} has no release to run in", "deploy it first")
    name = f"run.{p.store.next_counter(app)}"

    async def work(emit: Emit) -> dict[str, Any]:
        p.event(app, name, f"Starting process with command `{command}` by user")

        def on_line(text: str) -> None:
            emit(text)
            p.hub.publish(app, make_line("app", name, text))

        code = await run_in_release(release, command, name, p.settings.scratch_dir, on_line)
        p.event(app, name, f"Process exited with code {code}")
        return {"exit_code": code, "name": name}

    return stream_operation(work)


routes = [
    Route("/apps/{app}/ps", list_processes, methods=["GET"]),
    Route("/apps/{app}/ps/restart", restart, methods=["POST"]),
    Route("/apps/{app}/formation", get_formation, methods=["GET"]),
    Route("/apps/{app}/formation", patch_formation, methods=["PATCH"]),
    Route("/apps/{app}/run", run, methods=["POST"]),
]
