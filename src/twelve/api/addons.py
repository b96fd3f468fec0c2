"""Add-ons: list, create, show, destroy, attach and detach. Each change is a release."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse

from twelve.addons.manager import AddonManager
from twelve.addons.naming import redact_url
from twelve.addons.redis import pre_acl_notice
from twelve.api.body import json_body
from twelve.api.context import configured, platform
from twelve.api.routing import Routes
from twelve.api.serialize import release_json
from twelve.errors import ServiceError, UsageError
from twelve.store import Release
from twelve.store.addons import Addon

routes = Routes()


def addon_json(addon: Addon) -> dict[str, Any]:
    """An add-on as the API shows it: the URL with its password masked."""
    return {
        "name": addon.name,
        "app": addon.app,
        "service": addon.service,
        "provider": addon.provider,
        "server": addon.server,
        "config_var": addon.config_var,
        "attached": addon.attached,
        "url": redact_url(addon.url),
        "created_at": addon.created_at,
    }


def _manager(request: Request) -> AddonManager:
    missing = ServiceError("this twelve server has no add-on support configured")
    return configured(platform(request).addons, missing)


def _text(body: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise UsageError(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise UsageError(f"{key} must be a string")
    return value


def _changed(addon: Addon | None, release: Release | None, status: int = 200) -> JSONResponse:
    return JSONResponse(
        {
            "addon": addon_json(addon) if addon else None,
            "release": release_json(release) if release else None,
        },
        status_code=status,
    )


def _notify(request: Request, app: str, action: str, addon: Addon | None) -> None:
    """The ``addon`` webhook event: the add-on's name, service and variable, never its URL."""
    data = (
        {"name": addon.name, "service": addon.service, "config_var": addon.config_var}
        if addon is not None
        else {}
    )
    platform(request).notify(app, "addon", action, data)


@routes.get("/addons")
async def list_all(request: Request) -> JSONResponse:
    return JSONResponse([addon_json(a) for a in _manager(request).list()])


@routes.get("/apps/{app}/addons")
async def list_app(request: Request) -> JSONResponse:
    addons = _manager(request).list(request.path_params["app"])
    return JSONResponse([addon_json(a) for a in addons])


@routes.post("/apps/{app}/addons")
async def create(request: Request) -> JSONResponse:
    """Body: ``{"service": "postgres", "as": "CACHE", "name": "…"}`` (as and name optional)."""
    body = await json_body(request)
    addon, release = await _manager(request).create(
        request.path_params["app"],
        _text(body, "service", required=True) or "",
        as_name=_text(body, "as"),
        name=_text(body, "name"),
    )
    notice = pre_acl_notice(addon.url) if addon.service == "redis" else None
    _notify(request, addon.app, "create", addon)
    return JSONResponse(
        {
            "addon": addon_json(addon),
            "release": release_json(release) if release else None,
            "notice": notice,
        },
        status_code=201,
    )


@routes.post("/apps/{app}/addon-attachments")
async def attach(request: Request) -> JSONResponse:
    """Body: ``{"target": "smtp://…" | "ADDON-NAME", "as": "NAME", "replace": false}``."""
    body = await json_body(request)
    target = _text(body, "target", required=True) or ""
    try:
        urlsplit(target).port  # noqa: B018 (raises for a malformed host or port)
    except ValueError:
        # The text is not echoed: a malformed URL may still carry a password.
        raise UsageError("the URL to attach has a malformed host or port") from None
    addon, release = await _manager(request).attach(
        request.path_params["app"],
        target,
        _text(body, "as"),
        replace=body.get("replace") is True,
    )
    _notify(request, request.path_params["app"], "attach", addon)
    return _changed(addon, release, 201)


@routes.delete("/apps/{app}/addon-attachments/{name}")
async def detach(request: Request) -> JSONResponse:
    manager = _manager(request)
    name = request.path_params["name"]
    release = await manager.detach(request.path_params["app"], name)
    platform(request).notify(request.path_params["app"], "addon", "detach", {"name": name})
    return _changed(None, release)


@routes.get("/addons/{name}")
async def info(request: Request) -> JSONResponse:
    return JSONResponse(addon_json(_manager(request).info(request.path_params["name"])))


@routes.delete("/addons/{name}")
async def destroy(request: Request) -> JSONResponse:
    """``?confirm=APP`` must name the add-on's app: destroying deletes its data."""
    manager = _manager(request)
    addon = manager.info(request.path_params["name"])
    release = await manager.destroy(addon.name, request.query_params.get("confirm"))
    _notify(request, addon.app, "destroy", addon)
    return _changed(None, release)


@routes.post("/apps/{app}/addons/{name}/credentials/rotate")
async def rotate(request: Request) -> JSONResponse:
    """New credentials for an add-on, released to its app; the old ones revoked after."""
    manager = _manager(request)
    name = request.path_params["name"]
    release = await manager.rotate(request.path_params["app"], name)
    return _changed(manager.info(name), release)
