"""The ASGI application: routes of every resource, token auth, one error mapping."""

from __future__ import annotations

import base64
import hmac

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from twelve import __version__
from twelve.api import (
    addons,
    apps,
    certs,
    config,
    domains,
    export,
    git,
    logs,
    openapi,
    ps,
    releases,
    runtimes,
)
from twelve.api.context import Platform
from twelve.api.errors import http_error_handler, twelve_error_handler
from twelve.errors import TwelveError

UNAUTHORIZED = {
    "error": {
        "code": "unauthorized",
        "message": "missing or wrong API token",
        "hint": "set TWELVE_API_TOKEN to the token in the server's TWELVE_HOME/api-token",
    }
}


def presented_token(request: Request) -> str | None:
    """The token from ``Authorization: Bearer T`` or, for git clients, Basic auth's password."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


def push_may_deploy(request: Request, token: str) -> bool:
    """A push's one-time token allows exactly one thing: deploying its own app."""
    platform = request.app.state.platform
    app = platform.push_tokens.app_for(token)
    return (
        app is not None and request.method == "POST" and request.url.path == f"/apps/{app}/deploys"
    )


class TokenAuth(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp, token: str) -> None:
        super().__init__(app)
        self.token = token.encode()

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        given = presented_token(request)
        allowed = given is not None and (
            hmac.compare_digest(given.encode(), self.token) or push_may_deploy(request, given)
        )
        if not allowed:
            headers = {"WWW-Authenticate": 'Basic realm="twelve"'}
            return JSONResponse(UNAUTHORIZED, status_code=401, headers=headers)
        return await call_next(request)


async def server_info(_request: Request) -> JSONResponse:
    return JSONResponse({"name": "twelve", "version": __version__})


def create_app(platform: Platform) -> Starlette:
    """The API for one platform; every route needs the token."""
    routes = [Route("/", server_info, methods=["GET"])]
    modules = (
        apps,
        config,
        releases,
        ps,
        logs,
        git,
        export,
        domains,
        certs,
        addons,
        runtimes,
        openapi,
    )
    for module in modules:
        routes += module.routes
    app = Starlette(
        routes=routes,
        middleware=[Middleware(TokenAuth, token=platform.token)],
        exception_handlers={TwelveError: twelve_error_handler, HTTPException: http_error_handler},
    )
    app.state.platform = platform
    return app
