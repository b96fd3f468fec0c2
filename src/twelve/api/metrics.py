"""Metrics: an app's figures and chart points, and Prometheus' exposition."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from twelve.api.context import configured, existing_app, platform
from twelve.api.routing import Routes
from twelve.errors import UsageError
from twelve.metrics.prometheus import CONTENT_TYPE, exposition
from twelve.metrics.recorder import Recorder
from twelve.metrics.summary import chart, summarize

routes = Routes()


MAX_SINCE = 7 * 86400  # what the store keeps


def parse_since(text: str) -> int:
    """``90s``, ``15m``, ``1h``, ``7d`` or seconds: how far back, from 1 minute to 7 days."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = text.strip().lower()
    factor = units.get(value[-1:], 1)
    number = value[:-1] if value[-1:] in units else value
    if not (number.isascii() and number.isdigit()):
        raise UsageError(f"since={text!r} is not a duration", "for example 10m, 1h or 7d")
    seconds = int(number) * factor
    if not 60 <= seconds <= MAX_SINCE:
        raise UsageError(
            f"since={text!r} is out of range", "from 1m to 7d: metrics are kept 7 days"
        )
    return seconds


def _recorder(request: Request) -> Recorder:
    return configured(platform(request).metrics, UsageError("this server keeps no metrics"))


@routes.get("/apps/{app}/metrics")
async def app_metrics(request: Request) -> JSONResponse:
    """Query: ``type`` (a process type), ``since`` (default 1h)."""
    _p, app = existing_app(request)
    recorder = _recorder(request)
    seconds = parse_since(request.query_params.get("since") or "1h")
    kind = request.query_params.get("type") or None
    now = recorder.clock()
    resolution, points = recorder.points(app, now - seconds, kind)
    return JSONResponse(
        {
            "app": app,
            "since": seconds,
            "resolution": resolution,
            "types": summarize(points, seconds),
            "points": chart(points, resolution),
        }
    )


@routes.get("/metrics")
async def prometheus(request: Request) -> Response:
    return Response(exposition(_recorder(request)), media_type=CONTENT_TYPE)
