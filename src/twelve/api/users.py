"""Users, logins, tokens and per-app roles."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from twelve.access.roles import parse_role, parse_scope
from twelve.access.tokens import parse_duration
from twelve.api.body import json_body
from twelve.api.context import existing_app
from twelve.api.guard import GuardState, principal_of
from twelve.api.routing import Routes
from twelve.errors import AuthError, Conflict, UsageError
from twelve.store.users import Token, validate_user_name

routes = Routes()


def guard_state(request: Request) -> GuardState:
    state = request.app.state.guard
    assert isinstance(state, GuardState)
    return state


def token_json(token: Token) -> dict[str, Any]:
    return {
        "id": token.id,
        "description": token.description,
        "scope": token.scope,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise UsageError(f"{key} is required")
    return value


@routes.post("/auth/login")
async def login(request: Request) -> JSONResponse:
    """Body: ``{"invitation": CODE}``; answers with a new token, shown this once."""
    state = guard_state(request)
    request.scope["twelve.login"] = "unknown"  # the audit trail names a failed attempt so
    code = (await json_body(request)).get("invitation")
    if not isinstance(code, str) or not code:
        raise AuthError("an invitation code is required", "twelve login --invitation CODE")
    user, token = state.users.redeem(code, state.clock())
    request.scope["twelve.login"] = user.name
    return JSONResponse({"user": user.name, "admin": user.is_admin, "token": token}, 201)


@routes.get("/auth/whoami")
async def whoami(request: Request) -> JSONResponse:
    principal = principal_of(request.scope)
    return JSONResponse(
        {
            "user": principal.name,
            "admin": principal.is_admin,
            "scope": principal.scope,
            "token_id": principal.token_id,
            "expires_at": principal.expires_at,
        }
    )


@routes.delete("/auth/session")
async def logout(request: Request) -> JSONResponse:
    """Revoke the token the request came with (the platform's own token cannot be)."""
    state = guard_state(request)
    principal = principal_of(request.scope)
    if principal.token_id is None:
        return JSONResponse({"revoked": None})
    state.users.revoke_token(principal.name, principal.token_id, state.clock())
    state.changes.notify()
    return JSONResponse({"revoked": principal.token_id})


@routes.get("/auth/tokens")
async def list_tokens(request: Request) -> JSONResponse:
    principal = principal_of(request.scope)
    tokens = guard_state(request).users.list_tokens(principal.name)
    return JSONResponse([token_json(t) for t in tokens])


@routes.post("/auth/tokens")
async def create_token(request: Request) -> JSONResponse:
    """Body: ``{"description": "...", "scope": "read", "expires_in": "30d"}``."""
    state = guard_state(request)
    principal = principal_of(request.scope)
    body = await json_body(request)
    description = _text(body, "description")[:200]
    scope = parse_scope(str(body.get("scope") or "write"))
    lifetime = body.get("expires_in")
    now = state.clock()
    expires = now + parse_duration(str(lifetime)) if lifetime else None
    token, record = state.users.create_token(principal.name, description, scope, expires, now)
    return JSONResponse({**token_json(record), "token": token}, 201)


@routes.delete("/auth/tokens/{id}")
async def revoke_token(request: Request) -> JSONResponse:
    state = guard_state(request)
    principal = principal_of(request.scope)
    record = state.users.revoke_token(principal.name, request.path_params["id"], state.clock())
    state.changes.notify()
    return JSONResponse(token_json(record))


@routes.get("/users")
async def list_users(request: Request) -> JSONResponse:
    users = guard_state(request).users.list_users()
    return JSONResponse(
        [{"name": u.name, "admin": u.is_admin, "created_at": u.created_at} for u in users]
    )


@routes.post("/users")
async def create_user(request: Request) -> JSONResponse:
    """Body: ``{"name": "alice", "admin": false}``; answers with a one-time invitation code."""
    state = guard_state(request)
    body = await json_body(request)
    name = validate_user_name(_text(body, "name"))
    admin = body.get("admin") is True
    user, code = state.users.create_user(
        name, admin, principal_of(request.scope).name, state.clock()
    )
    return JSONResponse({"name": user.name, "admin": user.is_admin, "invitation": code}, 201)


@routes.post("/users/{name}/invitations")
async def invite_user(request: Request) -> JSONResponse:
    state = guard_state(request)
    name = request.path_params["name"]
    code = state.users.invite(name, state.clock())
    return JSONResponse({"name": name, "invitation": code}, 201)


@routes.get("/apps/{app}/access")
async def list_access(request: Request) -> JSONResponse:
    _p, app = existing_app(request)
    rows = guard_state(request).users.access(app)
    return JSONResponse([{"user": user, "role": role.label} for user, role in rows])


@routes.post("/apps/{app}/access")
async def add_access(request: Request) -> JSONResponse:
    """Body: ``{"user": "alice", "role": "deployer"}``."""
    _p, app = existing_app(request)
    body = await json_body(request)
    user, role = _text(body, "user"), parse_role(_text(body, "role"))
    state = guard_state(request)
    state.users.grant(app, user, role, replace=False)
    state.changes.notify()
    return JSONResponse({"app": app, "user": user, "role": role.label}, 201)


@routes.patch("/apps/{app}/access/{user}")
async def update_access(request: Request) -> JSONResponse:
    _p, app = existing_app(request)
    user = request.path_params["user"]
    role = parse_role(_text(await json_body(request), "role"))
    state = guard_state(request)
    state.users.grant(app, user, role, replace=True)
    state.changes.notify()
    return JSONResponse({"app": app, "user": user, "role": role.label})


@routes.delete("/apps/{app}/access/{user}")
async def remove_access(request: Request) -> JSONResponse:
    _p, app = existing_app(request)
    user = request.path_params["user"]
    if user == principal_of(request.scope).name and not principal_of(request.scope).is_admin:
        raise Conflict("you cannot remove your own access", "ask another admin of the app")
    state = guard_state(request)
    state.users.revoke_access(app, user)
    state.changes.notify()
    return JSONResponse({"app": app, "user": user, "removed": True})
