"""Recording an audited request: its body is read for details (never values), its response for
the result and the release it made, and one entry is written when the response ends."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Message, Receive, Scope, Send

from twelve.access.chain import Entry
from twelve.api.permissions import Rule

MAX_BODY = 1 << 20  # bodies read for details; a larger one is recorded without them
_MAX_KEPT = 256 << 10


async def buffered_body(scope: Scope, receive: Receive) -> tuple[dict[str, Any], Receive]:
    """The JSON body of a request (empty if none, too large or not JSON), and a ``receive`` that
    hands the route the same bytes."""
    headers = dict(scope.get("headers") or [])
    kind = headers.get(b"content-type", b"").decode("latin-1")
    if kind and not kind.startswith("application/json"):
        return {}, receive  # a deploy's tarball is passed through unread
    try:
        declared = int(headers.get(b"content-length", b"0"))
    except ValueError:
        declared = MAX_BODY + 1
    if declared > MAX_BODY:
        return {}, receive
    messages: list[Message] = []
    raw = b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        raw += message.get("body", b"")
        if not message.get("more_body", False) or len(raw) > MAX_BODY:
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    try:
        value = json.loads(raw) if raw and len(raw) <= MAX_BODY else {}
    except (ValueError, RecursionError):
        value = {}
    return (value if isinstance(value, dict) else {}), replay


class ResponseWatch:
    """Wraps ``send``: keeps the status, whether headers went out, and enough of the body to tell
    the result (a JSON body, or the last event of an NDJSON stream)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.started = False
        self.ndjson = False
        self.websocket = False
        self._kept = b""
        self._last_line = b""

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.status = int(message["status"])
            for name, value in message.get("headers", []):
                if name.lower() == b"content-type":
                    self.ndjson = value.startswith(b"application/x-ndjson")
        elif message["type"] == "http.response.body":
            self._keep(message.get("body", b""))
        elif message["type"] == "websocket.accept":
            # A WebSocket's text frames are events as an NDJSON stream's lines are.
            self.started, self.status, self.ndjson, self.websocket = True, 101, True, True
        elif message["type"] == "websocket.send" and message.get("text"):
            self._last_line = message["text"].encode()[-_MAX_KEPT:]
        await self._send(message)

    def _keep(self, chunk: bytes) -> None:
        if not self.ndjson:
            if len(self._kept) < _MAX_KEPT:
                self._kept += chunk
            return
        text = self._kept + chunk
        *whole, rest = text.split(b"\n")
        if whole and any(whole):
            self._last_line = [line for line in whole if line][-1][-_MAX_KEPT:]
        self._kept = rest[-_MAX_KEPT:]

    def outcome(self) -> tuple[str, int | None]:
        """The result text and the release the request made, if any."""
        try:
            data = json.loads(self._last_line if self.ndjson else self._kept)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            data = {}
        if self.status >= 400:
            message = (data.get("error") or {}).get("message") or f"HTTP {self.status}"
            return ("refused: " if self.status in (401, 403) else "failed: ") + str(message), None
        if self.ndjson:
            if data.get("event") == "error":
                return f"failed: {data.get('message')}", None
            if data.get("event") != "done":
                return "ended before its result", None
            if "exit_code" in data:
                return f"exited {data['exit_code']}", None
        return "ok", _release_of(data)


def _release_of(data: dict[str, Any]) -> int | None:
    release = data.get("release")
    if isinstance(release, dict) and isinstance(release.get("version"), int):
        return int(release["version"])
    if "addons_notice" in data and isinstance(data.get("version"), int):
        return int(data["version"])  # a rollback answers with the release itself
    return None


def make_entry(
    rule: Rule,
    scope: Scope,
    path_params: dict[str, str],
    actor: str,
    app: str | None,
    body: dict[str, Any],
    result: str,
    release: int | None,
    clock: Callable[[], float],
) -> Entry:
    assert rule.action is not None
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
    try:
        details = rule.details(path_params, body, query)
    except Exception:  # an odd body must never stop the entry being written
        details = {}
    client = scope.get("client")
    return Entry(
        seq=0,
        at=clock(),
        actor=actor,
        address=client[0] if client else "",
        app=app,
        action=rule.action,
        details=details,
        result=result[:500],
        release=release,
    )
