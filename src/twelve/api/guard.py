"""The one check every request passes: who is calling, may they call this route, and the audit
entry of what they changed. Runs before routing, so no route can be reached around it.

Each request's route is looked up in api/permissions.py; its app's role comes from the store. A
request that is let through is watched: when a token is revoked or expires, or a role changes,
open responses (a log tail, a one-off's output) are checked again and ended if now refused.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import Match, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twelve.access.chain import Entry
from twelve.access.drain import AuditDrain
from twelve.access.roles import Need, Principal, Role, effective_role, refusal
from twelve.access.tokens import is_live
from twelve.api.auditing import ResponseWatch, buffered_body, make_entry
from twelve.api.permissions import RULES, UNDECLARED, Rule
from twelve.errors import NotFound
from twelve.store.addons import AddonStore
from twelve.store.auditlog import AuditLog
from twelve.store.users import PLATFORM_ADMIN, UserStore

UNAUTHORIZED_HINT = "log in with 'twelve login', or set TWELVE_API_TOKEN"


class Changes:
    """Tells open responses that tokens or roles changed, so they are checked again."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        return self._event

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()


@dataclass
class GuardState:
    users: UserStore
    audit: AuditLog
    addons: AddonStore
    admin_token: str
    push_tokens: Any  # twelve.gitpush.PushTokens: which app a push's one-time token may deploy
    clock: Callable[[], float] = time.time
    changes: Changes = field(default_factory=Changes)
    pushers: dict[str, Principal] = field(default_factory=dict)
    drain: AuditDrain | None = None  # TWELVE_AUDIT_DRAIN: a copy of each entry, off the machine

    def record(self, entry: Entry) -> None:
        written = self.audit.append(entry)
        if self.drain is not None:
            self.drain.offer(written)


def presented_token(headers: dict[bytes, bytes]) -> str | None:
    """The token from ``Authorization: Bearer T`` or, for git clients, Basic auth's password."""
    scheme, _, value = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


def authenticate(state: GuardState, token: str | None) -> Principal | str:
    """The principal a token stands for, or why it stands for none."""
    if not token:
        return "no API token was given"
    if hmac.compare_digest(token.encode(), state.admin_token.encode()):
        return Principal(PLATFORM_ADMIN, True, "write")
    pusher = state.pushers.get(token)
    push_app = state.push_tokens.app_for(token)
    if pusher is not None and push_app is not None:
        return Principal(
            pusher.name, pusher.is_admin, pusher.scope, pusher.token_id, None, push_app
        )
    found = state.users.token_for(token)
    if found is None:
        return "the API token is not one this server issued"
    user, record = found
    if record.revoked_at is not None:
        return f"token {record.id} was revoked"
    if not is_live(record.expires_at, None, state.clock()):
        return f"token {record.id} has expired"
    return Principal(user.name, user.is_admin, record.scope, record.id, record.expires_at)


def principal_of(scope: Scope) -> Principal:
    value = scope["twelve.principal"]
    assert isinstance(value, Principal)
    return value


def role_of(scope: Scope) -> Role:
    """The role the request acts with on its app (capped by its token's scope)."""
    value = scope.get("twelve.role", Role.NONE)
    assert isinstance(value, Role)
    return value


def match_route(routes: list[Any], scope: Scope) -> tuple[tuple[str, str], dict[str, str]] | None:
    """The (method, path template) of the route a request reaches, and its path parameters."""
    method = "get" if scope.get("method", "GET") == "HEAD" else scope.get("method", "GET").lower()
    for route in routes:
        if not isinstance(route, Route | WebSocketRoute):
            continue
        found, child = route.matches(scope)
        if found is Match.FULL:
            return (method, route.path.replace(":path}", "}")), dict(child.get("path_params", {}))
    return None


def _app_named(state: GuardState, rule: Rule, params: dict[str, str]) -> str | None:
    if rule.app_from == "app":
        return params.get("app")
    if rule.app_from == "repo":
        return params.get("repo", "").removesuffix(".git")
    if rule.app_from == "addon":
        try:
            return str(state.addons.get(params.get("name", "")).app)
        except NotFound:
            return None
    return None


def decide(
    state: GuardState, principal: Principal, rule: Rule, key: tuple[str, str], app: str | None
) -> tuple[str | None, Role]:
    """Why the request is refused (None if allowed), and the role it acts with."""
    if principal.push_app is not None and (
        key != ("post", "/apps/{app}/deploys") or app != principal.push_app
    ):
        return "a push's token may only deploy the pushed app", Role.NONE
    if rule.app_from is not None and app is None:
        if principal.is_admin:
            return None, Role.ADMIN
        return f"{principal.name} has no access to add-on {key[1]}", Role.NONE
    role = state.users.role(app, principal.name) if app else Role.NONE
    reason = refusal(principal, rule.need, app, role)
    return reason, effective_role(principal, role)


async def _send_error(
    send: Send, status: int, code: str, message: str, hint: str | None, plain: bool = False
) -> None:
    """A refusal as twelve's JSON error; as one text line for git, which shows it to the pusher."""
    if plain:
        data = (f"twelve: {message}" + (f" ({hint})" if hint else "") + "\n").encode()
        kind = b"text/plain; charset=utf-8"
    else:
        data = json.dumps({"error": {"code": code, "message": message, "hint": hint}}).encode()
        kind = b"application/json"
    headers = [(b"content-type", kind), (b"content-length", str(len(data)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Basic realm="twelve"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class Guard:
    """ASGI middleware: authenticate, authorize by the route's rule, audit, watch."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # A WebSocket (an attached one-off) passes the same check as the GET it starts as;
            # a refusal is an HTTP answer to its handshake.
            send = _handshake_answers(send)
        elif scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        starlette = scope["app"]
        state: GuardState = starlette.state.guard
        matched = match_route(starlette.routes, scope)
        key, params = matched if matched else (("", ""), {})
        rule = RULES.get(key, UNDECLARED) if matched else None
        if rule is not None and rule.need is Need.PUBLIC:
            await self._audited(state, rule, None, None, params, scope, receive, send)
            return
        token = presented_token(dict(scope.get("headers") or []))
        principal = authenticate(state, token)
        if isinstance(principal, str):
            if token and rule is not None:
                self._record_failure(state, scope, principal, params)
            await _send_error(send, 401, "unauthorized", principal, UNAUTHORIZED_HINT)
            return
        if rule is None:  # no route: routing answers 404 or 405
            scope["twelve.principal"] = principal
            await self.app(scope, receive, send)
            return
        app = _app_named(state, rule, params)
        reason, role = decide(state, principal, rule, key, app)
        if reason is not None:
            if rule.action and scope["type"] == "http":
                body, _ = await buffered_body(scope, receive)
                entry = make_entry(
                    rule, scope, params, principal.name, app, body, f"refused: {reason}", None,
                    state.clock,
                )  # fmt: skip
                state.record(entry)
            hint = _hint(rule, app, state, principal)
            plain = rule.app_from == "repo"
            await _send_error(send, 403, "forbidden", reason, hint, plain)
            return
        scope["twelve.principal"] = principal
        scope["twelve.role"] = role
        scope["twelve.route"] = key
        await self._audited(state, rule, principal, token, params, scope, receive, send)

    async def _audited(
        self,
        state: GuardState,
        rule: Rule,
        principal: Principal | None,
        token: str | None,
        params: dict[str, str],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        body: dict[str, Any] = {}
        if rule.action and scope["type"] == "http":
            body, receive = await buffered_body(scope, receive)
        watch = ResponseWatch(send)
        result: tuple[str, int | None] | None = None
        try:
            ended = await self._watched(
                state, rule, principal, token, params, scope, receive, watch
            )
            if ended is not None:
                result = (f"ended: {ended}", None)
        finally:
            if rule.action and rule.need is not Need.PUBLIC and principal is not None:
                outcome = result or (watch.outcome() if watch.status else ("interrupted", None))
                app = _app_named(state, rule, params)
                state.record(
                    make_entry(
                        rule, scope, params, principal.name, app, body, *outcome, state.clock
                    )
                )
            elif rule.action and scope.get("twelve.login"):
                state.record(
                    make_entry(
                        rule, scope, params, str(scope["twelve.login"]), None, {},
                        watch.outcome()[0] if watch.status else "interrupted", None, state.clock,
                    )
                )  # fmt: skip

    async def _watched(
        self,
        state: GuardState,
        rule: Rule,
        principal: Principal | None,
        token: str | None,
        params: dict[str, str],
        scope: Scope,
        receive: Receive,
        watch: ResponseWatch,
    ) -> str | None:
        """Run the route; end it if its token or role stops allowing it. Why it was ended, if so."""
        if principal is None:
            await self.app(scope, receive, watch)
            return None
        task = asyncio.ensure_future(self.app(scope, receive, watch))
        try:
            while True:
                change = asyncio.ensure_future(state.changes.current().wait())
                timeout = None
                if principal.expires_at is not None:
                    timeout = max(0.0, principal.expires_at - state.clock()) + 0.01
                done, _ = await asyncio.wait(
                    {task, change}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                change.cancel()
                if task in done:
                    task.result()
                    return None
                now = authenticate(state, token)
                if isinstance(now, Principal):
                    key = scope["twelve.route"]
                    reason, _ = decide(state, now, rule, key, _app_named(state, rule, params))
                    if reason is None:
                        continue
                else:
                    reason = now
                scope["twelve.ended"] = reason  # an attached one-off is killed, not left to run
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await _end(watch, reason)
                return reason
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    @staticmethod
    def _record_failure(
        state: GuardState, scope: Scope, reason: str, params: dict[str, str]
    ) -> None:
        failed = Rule(Need.PUBLIC, None, "login")
        state.record(
            make_entry(
                failed, scope, params, "unknown", None, {}, f"refused: {reason}", None, state.clock
            )
        )


def _handshake_answers(send: Send) -> Send:
    """A WebSocket's ``send`` that takes HTTP answers (refusals) as answers to its handshake."""

    async def translated(message: Message) -> None:
        kind = message["type"]
        if kind.startswith("http.response."):
            message = {**message, "type": "websocket." + kind}
        await send(message)

    return translated


async def _end(watch: ResponseWatch, reason: str) -> None:
    """End a response its caller may no longer receive: an error line if it is a stream."""
    if watch.websocket and watch.started:
        event = {"event": "error", "code": "unauthorized", "message": reason, "hint": None}
        with contextlib.suppress(Exception):  # the handler may have closed it on its way out
            await watch({"type": "websocket.send", "text": json.dumps(event)})
            await watch({"type": "websocket.close", "code": 1008, "reason": reason[:120]})
        return
    if not watch.started:
        code = "unauthorized" if "token" in reason else "forbidden"
        await _send_error(watch, 401 if code == "unauthorized" else 403, code, reason, None)
        return
    line = b""
    if watch.ndjson:
        event = {"event": "error", "code": "unauthorized", "message": reason, "hint": None}
        line = (json.dumps(event) + "\n").encode()
    await watch({"type": "http.response.body", "body": line, "more_body": False})


def _hint(rule: Rule, app: str | None, state: GuardState, principal: Principal) -> str | None:
    wanted = rule.need.app_role
    if wanted is None or app is None or principal.push_app is not None:
        return None
    if principal.cap < wanted:
        return "use a token with a wider scope (twelve auth:tokens:create --scope ...)"
    verb = "access:add" if state.users.role(app, principal.name) is Role.NONE else "access:update"
    return f"an admin of {app} can grant it: twelve {verb} -a {app} {principal.name} --role {wanted.label}"
