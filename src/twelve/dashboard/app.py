"""The dashboard's pages: each a template filled from API calls made with the session's token.

Changes are plain HTML forms (POST, the session's CSRF token inside) answered with a redirect, so
every page works from the keyboard and without script; ``static/dashboard.js`` only follows the
live log and draws the metrics charts.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from twelve.dashboard.client import Api, ApiError
from twelve.dashboard.forms import check_section, read_form, split_builds
from twelve.dashboard.security import (
    COOKIE,
    LOGIN_COOKIE,
    PREFIX,
    SecurityHeaders,
    same_origin,
    set_cookie,
)
from twelve.dashboard.sessions import Session, Sessions, same
from twelve.errors import TwelveError

Handler = Callable[[Request, Session, Api], Awaitable[Response]]
_ENV = Environment(
    loader=PackageLoader("twelve.dashboard", "templates"), autoescape=select_autoescape()
)
SINCE = {"hour": "1h", "day": "1d", "week": "7d"}


class Dashboard:
    def __init__(self, api_url: Callable[[], str], sessions: Sessions) -> None:
        self.api_url = api_url
        self.sessions = sessions

    # rendering

    def page(
        self, request: Request, name: str, session: Session | None, status: int = 200, **ctx: Any
    ) -> HTMLResponse:
        html = _ENV.get_template(name).render(
            prefix=PREFIX,
            session=session,
            message=request.query_params.get("msg"),
            **ctx,
        )
        return HTMLResponse(html, status_code=status)

    def back(self, path: str, message: str) -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}{path}?msg={quote(message)}", status_code=303)

    # sessions

    def signed_in(
        self, handler: Handler, change: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """``handler`` for a logged-in session; for a change, only with its CSRF token and from
        the dashboard's own origin."""

        async def run(request: Request) -> Response:
            session = self.sessions.get(request.cookies.get(COOKIE))
            if session is None:
                if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
                    return RedirectResponse(f"{PREFIX}/login", status_code=303)
                return Response("log in first\n", status_code=401, media_type="text/plain")
            if change:
                try:
                    form = await read_form(request)
                except TwelveError as exc:
                    return Response(f"{exc.message}\n", status_code=413, media_type="text/plain")
                token = form.get("csrf")
                if not same_origin(request) or not same(
                    session.csrf, token if isinstance(token, str) else None
                ):
                    return Response(
                        "refused: the form's CSRF token or origin is wrong\n",
                        status_code=403,
                        media_type="text/plain",
                    )
            api = Api(self.api_url, session.token)
            try:
                return await handler(request, session, api)
            except ApiError as exc:
                if exc.status == 401:  # the token was revoked or expired
                    self.sessions.drop_token(session.token)
                    return RedirectResponse(f"{PREFIX}/login", status_code=303)
                return self.page(
                    request,
                    "error.html",
                    session,
                    status=exc.status if exc.status < 500 else 502,
                    error=str(exc),
                )

        return run

    async def login_form(self, request: Request) -> Response:
        nonce = secrets.token_urlsafe(24)
        response = self.page(request, "login.html", None, nonce=nonce)
        set_cookie(response, request, LOGIN_COOKIE, nonce, 3600)
        return response

    async def login(self, request: Request) -> Response:
        form = await read_form(request)
        nonce, token = form.get("nonce"), form.get("token")
        if not same_origin(request) or not same(
            request.cookies.get(LOGIN_COOKIE, ""), nonce if isinstance(nonce, str) else None
        ):
            return Response(
                "refused: reload the login page and try again\n",
                status_code=403,
                media_type="text/plain",
            )
        token = token.strip() if isinstance(token, str) else ""
        try:
            who = await Api(self.api_url, token).call("GET", "/auth/whoami") if token else None
        except ApiError as exc:
            who = None if exc.status in (401, 403) else {"error": str(exc)}
        if not who or "user" not in who:
            fresh = secrets.token_urlsafe(24)
            response = self.page(
                request,
                "login.html",
                None,
                status=401,
                nonce=fresh,
                error="That token is not valid: paste the platform's token or one of yours.",
            )
            set_cookie(response, request, LOGIN_COOKIE, fresh, 3600)
            return response
        session = self.sessions.create(token, str(who["user"]))
        done = RedirectResponse(f"{PREFIX}/apps", status_code=303)
        set_cookie(done, request, COOKIE, session.id, 12 * 3600)
        done.delete_cookie(LOGIN_COOKIE, path=PREFIX)
        return done

    async def logout(self, request: Request, session: Session, _api: Api) -> Response:
        self.sessions.drop(session.id)
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    # pages

    async def apps(self, request: Request, session: Session, api: Api) -> Response:
        apps = await api.call("GET", "/apps")
        for app in apps:
            procs = await api.call("GET", f"/apps/{app['name']}/ps")
            app["up"] = sum(1 for p in procs if p["state"] == "up")
            app["processes"] = len(procs)
            app["crashed"] = sum(1 for p in procs if p["state"] == "crashed")
        return self.page(request, "apps.html", session, apps=apps)

    async def overview(self, request: Request, session: Session, api: Api) -> Response:
        app = request.path_params["app"]
        info = await api.call("GET", f"/apps/{app}")
        procs = await api.call("GET", f"/apps/{app}/ps")
        certs = await api.call("GET", f"/apps/{app}/certs")
        addons = await api.call("GET", f"/apps/{app}/addons")
        return self.page(
            request, "overview.html", session, app=app, info=info, procs=procs, certs=certs,
            addons=addons, tab="overview",
        )  # fmt: skip

    async def scale(self, request: Request, session: Session, api: Api) -> Response:
        app = request.path_params["app"]
        form = await read_form(request)
        changes: dict[str, int] = {}
        for key, value in form.multi_items():
            if key.startswith("type:") and isinstance(value, str):
                if not (value.isascii() and value.isdigit()):
                    return self.back(f"/apps/{app}", f"{key[5:]} must be a count")
                changes[key[5:]] = int(value)
        formation = await api.call("PATCH", f"/apps/{app}/formation", json=changes)
        summary = " ".join(f"{k}={v}" for k, v in formation.items())
        return self.back(f"/apps/{app}", f"Scaled to {summary}")

    async def releases(self, request: Request, session: Session, api: Api) -> Response:
        app = request.path_params["app"]
        releases = await api.call("GET", f"/apps/{app}/releases")
        return self.page(
            request, "releases.html", session, app=app, releases=releases, tab="releases"
        )

    async def confirm_rollback(self, request: Request, session: Session, api: Api) -> Response:
        app = request.path_params["app"]
        version = request.path_params["version"]
        return self.page(
            request, "rollback.html", session, app=app, version=version, tab="releases"
        )

    async def rollback(self, request: Request, session: Session, api: Api) -> Response:
        app = request.path_params["app"]
        version = request.path_params["version"]
        release = await api.call("POST", f"/apps/{app}/rollback", json={"version": version})
        return self.back(
            f"/apps/{app}/releases", f"Rolled back to v{version}: now v{release['version']}"
        )

    async def config(self, request: Request, session: Session, api: Api) -> Response:
        app = request.path_params["app"]
        values = await api.call("GET", f"/apps/{app}/config")
        reveal = request.query_params.get("reveal")
        return self.page(
            request, "config.html", session, app=app, config=values, reveal=reveal, tab="config"
        )

    async def set_config(self, request: Request, session: Session, api: Api) -> Response:
        app = request.path_params["app"]
        form = await read_form(request)
        key, value = form.get("key"), form.get("value")
        if not isinstance(key, str) or not key.strip() or not isinstance(value, str):
            return self.back(f"/apps/{app}/config", "Give a name and a value")
        await api.call("PATCH", f"/apps/{app}/config", json={key.strip(): value})
        return self.back(f"/apps/{app}/config", f"Set {key.strip()}: a new release")

    async def unset_config(self, request: Request, session: Session, api: Api) -> Response:
        app = request.path_params["app"]
        form = await read_form(request)
        key = form.get("key")
        if not isinstance(key, str) or not key:
            return self.back(f"/apps/{app}/config", "Name the variable to unset")
        await api.call("PATCH", f"/apps/{app}/config", json={key: None})
        return self.back(f"/apps/{app}/config", f"Unset {key}: a new release")

    async def logs(self, request: Request, session: Session, api: Api) -> Response:
        app = request.path_params["app"]
        filters = {k: request.query_params.get(k, "") for k in ("ps", "source", "grep")}
        query = "&".join(f"{k}={quote(v)}" for k, v in filters.items() if v)
        stream = f"{PREFIX}/apps/{app}/logs/stream" + (f"?{query}" if query else "")
        return self.page(
            request, "logs.html", session, app=app, filters=filters, stream=stream, tab="logs"
        )

    async def log_stream(self, request: Request, session: Session, api: Api) -> Response:
        """The live log as server-sent events: the API's tail, each line an event whose id is its
        cursor, so a reconnecting browser resumes where it was."""
        app = request.path_params["app"]
        params = {"tail": "1", "n": "100"}
        for key in ("ps", "source", "grep"):
            if request.query_params.get(key):
                params[key] = request.query_params[key]
        last = request.headers.get("last-event-id", "")
        if last.isascii() and last.isdigit():
            params["after"] = last
        lines = api.lines(f"/apps/{app}/logs", params)
        first = await anext(lines, None)  # an API refusal is an error page, not a broken stream

        async def events() -> AsyncIterator[bytes]:
            line = first
            try:
                while line is not None:
                    where = f"{line.get('source')}[{line.get('process')}]"
                    text = f"{str(line.get('time', ''))[:19]} {where}: {line.get('message', '')}"
                    data = json.dumps({"text": text})
                    yield f"id: {line.get('cursor', '')}\ndata: {data}\n\n".encode()
                    line = await anext(lines, None)
            finally:  # the browser left: the API's stream is closed now, not when collected
                await lines.aclose()

        return StreamingResponse(events(), media_type="text/event-stream")

    async def builds(self, request: Request, session: Session, api: Api) -> Response:
        """Each build's output, read from the app's log stream (``twelve[build]`` lines), and the
        ``twelve check`` findings of the live release's build."""
        app = request.path_params["app"]
        info = await api.call("GET", f"/apps/{app}")
        releases = await api.call("GET", f"/apps/{app}/releases")
        lines = [
            str(line.get("message", ""))
            async for line in api.lines(f"/apps/{app}/logs", {"n": "2000", "ps": "build"})
        ]
        builds = split_builds(lines)
        live = next((r["build_id"] for r in releases if r["version"] == info["release"]), None)
        findings = check_section(builds.get(live, [])) if live is not None else []
        return self.page(
            request, "builds.html", session, app=app, builds=sorted(builds.items(), reverse=True),
            live=live, findings=findings, tab="builds",
        )  # fmt: skip

    async def metrics(self, request: Request, session: Session, api: Api) -> Response:
        app = request.path_params["app"]
        span = request.query_params.get("span", "hour")
        if span not in SINCE:
            span = "hour"
        data = await api.call("GET", f"/apps/{app}/metrics", params={"since": SINCE[span]})
        return self.page(
            request, "metrics.html", session, app=app, span=span, spans=list(SINCE),
            types=data["types"], data_url=f"{PREFIX}/apps/{app}/metrics.json?span={span}",
            tab="metrics",
        )  # fmt: skip

    async def metrics_json(self, request: Request, session: Session, api: Api) -> Response:
        app = request.path_params["app"]
        span = request.query_params.get("span", "hour")
        data = await api.call(
            "GET", f"/apps/{app}/metrics", params={"since": SINCE.get(span, "1h")}
        )
        return JSONResponse(data)


def create_dashboard(api_url: Callable[[], str], sessions: Sessions) -> Starlette:
    """The dashboard, all under ``/ui``; ``api_url`` gives the API's address once it is known."""
    d = Dashboard(api_url, sessions)
    s = d.signed_in

    async def home(_request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/apps", status_code=303)

    a = PREFIX + "/apps/{app}"
    routes = [
        Route(PREFIX, home, methods=["GET"]),
        Route(PREFIX + "/", home, methods=["GET"]),
        Route(PREFIX + "/login", d.login_form, methods=["GET"]),
        Route(PREFIX + "/login", d.login, methods=["POST"]),
        Route(PREFIX + "/logout", s(d.logout, change=True), methods=["POST"]),
        Route(PREFIX + "/apps", s(d.apps), methods=["GET"]),
        Route(a, s(d.overview), methods=["GET"]),
        Route(a + "/scale", s(d.scale, change=True), methods=["POST"]),
        Route(a + "/releases", s(d.releases), methods=["GET"]),
        Route(a + "/rollback/{version:int}", s(d.confirm_rollback), methods=["GET"]),
        Route(a + "/rollback/{version:int}", s(d.rollback, change=True), methods=["POST"]),
        Route(a + "/config", s(d.config), methods=["GET"]),
        Route(a + "/config", s(d.set_config, change=True), methods=["POST"]),
        Route(a + "/config/unset", s(d.unset_config, change=True), methods=["POST"]),
        Route(a + "/logs", s(d.logs), methods=["GET"]),
        Route(a + "/logs/stream", s(d.log_stream), methods=["GET"]),
        Route(a + "/builds", s(d.builds), methods=["GET"]),
        Route(a + "/metrics", s(d.metrics), methods=["GET"]),
        Route(a + "/metrics.json", s(d.metrics_json), methods=["GET"]),
        Mount(
            PREFIX + "/static",
            StaticFiles(packages=[("twelve.dashboard", "static")]),
            name="static",
        ),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
