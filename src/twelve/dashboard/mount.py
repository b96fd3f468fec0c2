"""The dashboard beside the API on one server: ``/ui`` and below go to the dashboard (which signs
its users in with its own session cookie), everything else to the API and its token guard."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from twelve.dashboard.security import PREFIX


def with_dashboard(api: ASGIApp, dashboard: ASGIApp) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] in ("http", "websocket") else ""
        if path == PREFIX or path.startswith(PREFIX + "/"):
            await dashboard(scope, receive, send)
        else:
            await api(scope, receive, send)

    return app
