"""The dashboard beside the API: on the API's own server, where ``/ui`` and below go to the
dashboard (which signs its users in with its own session cookie) and everything else to the API
and its token guard; or on ``TWELVE_DASHBOARD_BIND``, a server of its own."""

from __future__ import annotations

import contextlib
import logging
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from twelve.api.context import Platform
from twelve.dashboard.app import create_dashboard
from twelve.dashboard.security import PREFIX
from twelve.dashboard.sessions import Sessions
from twelve.serving import serve_asgi

log = logging.getLogger("twelve")


def mounted(api: ASGIApp, dashboard: ASGIApp) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] in ("http", "websocket") else ""
        if path == PREFIX or path.startswith(PREFIX + "/"):
            await dashboard(scope, receive, send)
        else:
            await api(scope, receive, send)

    return app


async def with_dashboard(
    stack: contextlib.AsyncExitStack, api: ASGIApp, platform: Platform
) -> ASGIApp:
    """What the API's server runs: the API with the dashboard under ``/ui``, or the API alone
    when the dashboard has a bind of its own (served from here until ``stack`` closes)."""
    dashboard = create_dashboard(lambda: platform.api_url, Sessions(time.time))
    bind = platform.settings.dashboard_bind
    if bind is None:
        return mounted(api, dashboard)
    url = await serve_asgi(stack, dashboard, bind, "TWELVE_DASHBOARD_BIND")
    log.info("dashboard on %s/ui", url)
    return api
