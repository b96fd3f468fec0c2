"""Automatic certificates (``certs:auto``) and router features (``features``) of an app."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from twelve.acme.manager import AcmeManager
from twelve.api.body import json_body
from twelve.api.context import Platform, configured, existing_app
from twelve.api.routing import Routes
from twelve.errors import UsageError
from twelve.features import (
    FEATURES,
    HSTS,
    HSTS_DEFAULT_MAX_AGE,
    HTTPS_REDIRECT,
    NEEDS_TLS,
    FeatureStore,
    check_feature,
)

routes = Routes()


def _manager(p: Platform) -> AcmeManager:
    missing = UsageError("automatic certificates are not running in this daemon")
    return configured(p.acme, missing)


def _need_tls(p: Platform, what: str) -> None:
    if not p.settings.router_tls_bind:
        raise UsageError(
            f"{what} needs the router to serve HTTPS",
            "start the daemon with TWELVE_ROUTER_TLS_BIND (for example 0.0.0.0:443)",
        )


@routes.get("/apps/{app}/certs/auto")
async def show_auto(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    return JSONResponse(_manager(p).describe(app))


@routes.post("/apps/{app}/certs/auto")
async def enable_auto(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    _need_tls(p, "certs:auto")
    manager = _manager(p)
    manager.enable(app)
    p.supervisor.routes_changed()  # challenge paths are the router's from now on
    p.event(app, "acme", f"automatic certificates enabled ({p.settings.acme_directory})")
    return JSONResponse(manager.describe(app))


@routes.delete("/apps/{app}/certs/auto")
async def disable_auto(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    manager = _manager(p)
    manager.disable(app)
    p.supervisor.routes_changed()
    p.event(app, "acme", "automatic certificates disabled; the current certificate stays")
    return JSONResponse(manager.describe(app))


def _features(p: Platform, app: str) -> list[dict[str, Any]]:
    current = FeatureStore(p.settings.features_path).of(app)
    return [
        {
            "name": name,
            "enabled": name in current,
            "value": current.get(name),
            "description": description,
        }
        for name, description in sorted(FEATURES.items())
    ]


@routes.get("/apps/{app}/features")
async def list_features(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    return JSONResponse(_features(p, app))


@routes.post("/apps/{app}/features/{name}")
async def enable_feature(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    name = check_feature(request.path_params["name"])
    body = await json_body(request) if await request.body() else {}
    if name in NEEDS_TLS:
        _need_tls(p, name)
    value: Any = True
    if name == HSTS:
        raw = body.get("max_age", HSTS_DEFAULT_MAX_AGE)
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 2**31:
            raise UsageError("max_age must be a whole number of seconds", "for example 31536000")
        value = raw
    FeatureStore(p.settings.features_path).set(app, name, value)
    p.supervisor.routes_changed()
    detail = f" (max-age={value})" if name == HSTS else ""
    p.event(app, "api", f"feature {name} enabled{detail}")
    if name == HTTPS_REDIRECT:
        p.event(app, "api", "plain HTTP requests now get 308 to https")
    return JSONResponse(_features(p, app))


@routes.delete("/apps/{app}/features/{name}")
async def disable_feature(request: Request) -> JSONResponse:
    p, app = existing_app(request)
    name = check_feature(request.path_params["name"])
    FeatureStore(p.settings.features_path).set(app, name, None)
    p.supervisor.routes_changed()
    p.event(app, "api", f"feature {name} disabled")
    return JSONResponse(_features(p, app))
