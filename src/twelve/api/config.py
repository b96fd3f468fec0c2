"""Config vars: read (masked unless asked) and change (each change is a release)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from twelve.access.roles import Role
from twelve.api.body import json_body
from twelve.api.context import existing_app, platform
from twelve.api.guard import role_of
from twelve.api.routing import Routes
from twelve.api.serialize import release_json
from twelve.appspec.names import validate_config_key
from twelve.errors import UsageError

routes = Routes()


MASK = "********"


@routes.get("/apps/{app}/config")
async def get_config(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    config = p.store.config.get(app)
    if role_of(request.scope) < Role.ADMIN:  # values are for the app's admins only
        config = dict.fromkeys(config, MASK)
    return JSONResponse(config)


@routes.patch("/apps/{app}/config")
async def patch_config(request: Request) -> JSONResponse:
    """Body: ``{"KEY": "value", "OTHER": null}``; null unsets."""
    p = platform(request)
    app = request.path_params["app"]
    body = await json_body(request)
    if not body:
        raise UsageError("no config vars given", "for example: twelve config:set KEY=value")
    changes: dict[str, str | None] = {}
    for key, value in body.items():
        validate_config_key(key)
        if value is not None and not isinstance(value, str):
            raise UsageError(f"the value of {key} must be a string or null")
        changes[key] = value
    release = await p.deployer.set_config(app, changes)
    return JSONResponse(
        {
            "config_keys": sorted(p.store.config.get(app)),
            "release": release_json(release) if release else None,
        }
    )
