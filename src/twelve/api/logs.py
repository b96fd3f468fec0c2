"""Logs: the last lines of an app's stream, optionally followed live, as NDJSON."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import StreamingResponse

from twelve.api.context import existing_app
from twelve.api.routing import Routes
from twelve.errors import UsageError
from twelve.logs.filters import LogFilter, parse_since

routes = Routes()


def _filter(request: Request) -> LogFilter:
    q = request.query_params
    source = q.get("source") or None
    if source not in {None, "app", "router", "twelve"}:
        raise UsageError(f"unknown source {source!r}", "use app, router or twelve")
    try:
        since = parse_since(q["since"]) if q.get("since") else None
    except OverflowError:
        raise UsageError(f"--since {q['since'][:40]!r} is too far back") from None
    return LogFilter(ps=q.get("ps") or None, source=source, since=since, grep=q.get("grep") or None)


@routes.get("/apps/{app}/logs")
async def get_logs(request: Request) -> StreamingResponse:
    """``?n=100&tail=1&ps=web&source=app&since=10m&grep=x&after=CURSOR``."""
    p, app = existing_app(request)
    q = request.query_params
    try:
        count = int(q.get("n", "100"))
    except ValueError:
        raise UsageError("n must be a number of lines") from None
    follow = q.get("tail") in {"1", "true"}
    try:
        after = int(q["after"]) if q.get("after") else None
    except ValueError:
        raise UsageError("after must be a cursor from an earlier line") from None
    line_filter = _filter(request)

    async def body() -> AsyncIterator[bytes]:
        if after is None:
            start = p.hub.last_cursor(app)
            for cursor, line in p.hub.read_last(app, max(0, count), line_filter):
                yield _encode(cursor, line.to_json())
        else:
            start = after
        if not follow:
            return
        async with p.hub.subscribe(app, line_filter, start) as lines:
            async for cursor, line in lines:
                yield _encode(cursor, line.to_json())

    return StreamingResponse(body(), media_type="application/x-ndjson")


def _encode(cursor: int, line: dict[str, str]) -> bytes:
    return (json.dumps({"cursor": cursor, **line}) + "\n").encode()
