"""A module's routes, each declared above its handler: ``@routes.get("/apps/{app}/config")``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

Handler = TypeVar("Handler", bound=Callable[[Request], Awaitable[Response]])
SocketHandler = TypeVar("SocketHandler", bound=Callable[[WebSocket], Awaitable[None]])


class Routes(list[BaseRoute]):
    """The routes of one resource module, in the order its handlers are declared: the order
    Starlette tries them in."""

    def get(self, path: str) -> Callable[[Handler], Handler]:
        return self.on(path, "GET")

    def post(self, path: str) -> Callable[[Handler], Handler]:
        return self.on(path, "POST")

    def patch(self, path: str) -> Callable[[Handler], Handler]:
        return self.on(path, "PATCH")

    def delete(self, path: str) -> Callable[[Handler], Handler]:
        return self.on(path, "DELETE")

    def on(self, path: str, *methods: str) -> Callable[[Handler], Handler]:
        """Serve requests with one of ``methods`` for ``path`` with the handler below."""

        def register(handler: Handler) -> Handler:
            self.append(Route(path, handler, methods=list(methods)))
            return handler

        return register

    def websocket(self, path: str) -> Callable[[SocketHandler], SocketHandler]:
        """Serve WebSocket connections to ``path`` with the handler below."""

        def register(handler: SocketHandler) -> SocketHandler:
            self.append(WebSocketRoute(path, handler))
            return handler

        return register
