"""Apps: list, create, info, destroy."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from twelve.api.body import json_body
from twelve.api.context import platform
from twelve.api.guard import principal_of
from twelve.api.routing import Routes
from twelve.appspec.names import validate_app_name
from twelve.certs import CertStore
from twelve.errors import UsageError
from twelve.features import FeatureStore

routes = Routes()


@routes.get("/apps")
async def list_apps(request: Request) -> JSONResponse:
    p = platform(request)
    caller = principal_of(request.scope)
    guard = request.app.state.guard
    visible = None if caller.is_admin else guard.users.apps_of(caller.name)
    apps = []
    for app in p.store.apps.all():
        if visible is not None and app.name not in visible:
            continue
        release = p.store.releases.current(app.name)
        apps.append(
            {
                "name": app.name,
                "created_at": app.created_at,
                "release": release.version if release else None,
                "url": p.app_url(app.name),
            }
        )
    return JSONResponse(apps)


@routes.post("/apps")
async def create_app(request: Request) -> JSONResponse:
    p = platform(request)
    body = await json_body(request)
    name = validate_app_name(str(body.get("name", "")))
    app = p.store.apps.create(name)
    p.event(name, "api", f"App {name} created")
    return JSONResponse({"name": app.name, "url": p.app_url(name)}, status_code=201)


@routes.get("/apps/{app}")
async def app_info(request: Request) -> JSONResponse:
    p = platform(request)
    name = request.path_params["app"]
    app = p.store.apps.get(name)
    release = p.store.releases.current(name)
    return JSONResponse(
        {
            "name": app.name,
            "created_at": app.created_at,
            "url": p.app_url(name),
            "https_url": p.https_url(name),
            "release": release.version if release else None,
            "commit": release.commit if release else None,
            "formation": p.store.formation.get(name),
            "domains": [h for h, _ in p.store.domains.pairs(name)],
        }
    )


@routes.delete("/apps/{app}")
async def destroy_app(request: Request) -> JSONResponse:
    p = platform(request)
    name = request.path_params["app"]
    if request.query_params.get("confirm") != name:
        raise UsageError(f"destroying {name} needs confirmation", f"pass --confirm {name}")
    p.store.apps.get(name)
    if p.addons is not None:
        await p.addons.destroy_all(name)  # the app's databases and key spaces go with it
    await p.deployer.destroy(name)
    if p.metrics is not None:
        p.metrics.forget(name)
    if p.acme is not None:
        p.acme.forget(name)  # its order state and keys: a new app of that name orders its own
    FeatureStore(p.settings.features_path).forget(name)
    if CertStore(p.settings.certs_dir).remove(name):  # a new app of that name starts without it
        p.supervisor.routes_changed()
    await p.hub.remove_app(name)
    request.app.state.guard.users.forget_app(name)  # a new app of that name starts with no roles
    request.app.state.guard.changes.notify()
    return JSONResponse({"name": name, "destroyed": True})
