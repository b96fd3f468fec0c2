"""Processes: list, scale, restart, limits (one-offs are in api/run.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from twelve.api.body import json_body
from twelve.api.context import existing_app, platform
from twelve.api.routing import Routes
from twelve.api.serialize import oneoff_json, process_json
from twelve.appspec.formation import MAX_QUANTITY
from twelve.appspec.names import validate_process_type
from twelve.errors import UsageError
from twelve.values import Limits

routes = Routes()


@routes.get("/apps/{app}/ps")
async def list_processes(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    formation = [process_json(proc) for proc in p.supervisor.processes(app)]
    return JSONResponse(formation + [oneoff_json(o) for o in p.supervisor.oneoffs.of_app(app)])


@routes.get("/apps/{app}/formation")
async def get_formation(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    return JSONResponse(p.store.formation.get(app))


@routes.patch("/apps/{app}/formation")
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


@routes.post("/apps/{app}/ps/restart")
async def restart(request: Request) -> JSONResponse:
    p = platform(request)
    app = request.path_params["app"]
    body = await json_body(request)
    process = body.get("process")
    if process is not None and not isinstance(process, str):
        raise UsageError("process must be a process type or name such as web or web.1")
    p.store.apps.get(app)
    async with p.deployer.lock(app):
        await p.supervisor.restart(app, process or None)
    p.event(app, "api", f"Restarted {process or 'all processes'}")
    return JSONResponse({"restarted": process or "all"})


def _limits_json(limits: Limits) -> dict[str, float | int | None]:
    return {"memory": limits.memory, "cpu": limits.cpu}


@routes.get("/apps/{app}/limits")
async def get_limits(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    limits = p.store.limits.get(app)
    return JSONResponse(
        {
            "enforced_with": p.supervisor.confiner.cgroups.mode,
            "types": {kind: _limits_json(value) for kind, value in limits.items()},
        }
    )


@routes.patch("/apps/{app}/limits")
async def patch_limits(request: Request) -> JSONResponse:
    """Body: ``{"type": "web", "memory": 536870912, "cpu": 0.5}`` (null or 0 removes one)."""
    p = platform(request)
    app = request.path_params["app"]
    body = await json_body(request)
    kind = validate_process_type(str(body.get("type", "")))
    memory, cpu = body.get("memory"), body.get("cpu")
    if memory is not None and (
        not isinstance(memory, int) or isinstance(memory, bool) or memory < 0
    ):
        raise UsageError("memory must be a number of bytes")
    if cpu is not None and (not isinstance(cpu, int | float) or isinstance(cpu, bool) or cpu < 0):
        raise UsageError("cpu must be a number of cores")
    if memory and memory < 16 << 20:
        raise UsageError("a memory limit under 16M would not let a process start")
    if cpu and not 0.01 <= cpu <= 1024:
        # cgroups refuse a quota under 1ms per period; a spawn with one would fail, not this call.
        raise UsageError("cpu must be from 0.01 to 1024 cores")
    limits = Limits(memory or None, float(cpu) if cpu else None)
    await p.deployer.set_limits(app, kind, limits)
    return JSONResponse({"type": kind, **_limits_json(limits)})
