"""The ASGI application: routes of every resource behind one guard, one error mapping."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from twelve import __version__
from twelve.access.drain import AuditDrain
from twelve.api import (
    acme,
    addons,
    apps,
    audit,
    backups,
    certs,
    config,
    cron,
    domains,
    export,
    git,
    logs,
    metrics,
    openapi,
    ps,
    releases,
    run,
    runtimes,
    users,
    webhooks,
)
from twelve.api.context import Platform
from twelve.api.errors import http_error_handler, twelve_error_handler
from twelve.api.guard import Guard, GuardState
from twelve.errors import TwelveError


async def server_info(_request: Request) -> JSONResponse:
    return JSONResponse({"name": "twelve", "version": __version__})


def guard_state(platform: Platform, clock: Callable[[], float] = time.time) -> GuardState:
    """Who may do what on ``platform``: its users and roles, its audit trail and drain."""
    users = platform.store.users
    users.ensure_platform_admin(clock())
    state = GuardState(
        users,
        platform.store.audit,
        platform.store.addons,
        platform.token,
        platform.push_tokens,
        clock,
    )
    if platform.settings.audit_drain:
        state.drain = AuditDrain(platform.settings.audit_drain)
    return state


def create_app(platform: Platform, clock: Callable[[], float] = time.time) -> Starlette:
    """The API for one platform; every request passes the guard (api/guard.py) first."""
    routes = [Route("/", server_info, methods=["GET"])]
    modules = (
        apps, config, releases, ps, run, cron, logs, git, export, domains, certs, acme, addons,
        backups, runtimes, users, audit, metrics, webhooks, openapi,
    )  # fmt: skip
    for module in modules:
        routes += module.routes
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard)],
        exception_handlers={TwelveError: twelve_error_handler, HTTPException: http_error_handler},
    )
    app.state.platform = platform
    app.state.guard = guard_state(platform, clock)
    return app
